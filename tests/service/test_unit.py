"""The unit template: rendered paths, groups and credentials; the shipped default is its rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import EdgeError
from edge.service.unit import DEFAULT, UnitSettings, credentials_in_config, render_unit

SHIPPED = Path(__file__).resolve().parents[2] / "systemd" / "edge.service"


def test_the_shipped_unit_is_the_rendered_default() -> None:
    # A line added to systemd/edge.service (ExecReload=, say) must go into edge/service/edge.service.in too.
    assert SHIPPED.read_text() == render_unit(DEFAULT)


def _lines(text: str, key: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(key)]


def test_paths_groups_and_credentials_are_this_installation_s() -> None:
    text = render_unit(
        UnitSettings(Path("/srv/edge/venv/bin/edge"), Path("/etc/edge/edge.yaml"), ("video",), ("mqtt-password",))
    )
    assert _lines(text, "ExecStart=") == ["ExecStart=/srv/edge/venv/bin/edge run --config /etc/edge/edge.yaml"]
    assert _lines(text, "ExecStartPre=") == ["ExecStartPre=/srv/edge/venv/bin/edge validate /etc/edge/edge.yaml"]
    assert _lines(text, "SupplementaryGroups=") == ["SupplementaryGroups=video"]
    assert _lines(text, "LoadCredential=") == ["LoadCredential=mqtt-password:/etc/edge/credentials/mqtt-password"]
    assert "/opt/edge" not in text and "@" not in text.replace("@system-service", "")


def test_state_and_engines_are_in_the_state_directory() -> None:
    # ProtectSystem=strict makes a checkout's engines/ (the default when there is one) read-only.
    text = render_unit(DEFAULT)
    assert _lines(text, "Environment=") == [
        "Environment=EDGE_STATE_DIR=/var/lib/edge",
        "Environment=EDGE_ENGINES=/var/lib/edge/engines",
    ]


def test_no_groups_and_no_credentials_leave_no_lines() -> None:
    # systemd refuses to start a unit whose group does not exist or whose credential file is missing.
    text = render_unit(UnitSettings(Path("/opt/e/bin/edge"), Path("/etc/edge/edge.yaml"), (), ()))
    assert _lines(text, "SupplementaryGroups") == [] and _lines(text, "LoadCredential") == []


def test_a_path_with_a_space_is_refused() -> None:
    with pytest.raises(EdgeError, match="spaces"):
        UnitSettings(Path("/opt/my edge/bin/edge"), Path("/etc/edge/edge.yaml"), (), ())


@pytest.mark.parametrize(
    ("yaml_text", "names"),
    [
        ("models: {}\nstreams: {}\n", ()),
        ("mqtt: {host: b, password: {credential: mqtt-password}}\n", ("mqtt-password",)),
        ("mqtt: {host: b, password: {env: EDGE_MQTT_PASSWORD}}\n", ()),
        (
            "models:\n  a: {path: a.onnx, hosted: {model_id: p/1, api_key: {credential: roboflow-api-key}}}\n"
            "  b: {path: b.onnx, hosted: {model_id: p/2, api_key: {credential: roboflow-api-key}}}\n"
            "mqtt: {password: {credential: mqtt-password}}\n",
            ("roboflow-api-key", "mqtt-password"),
        ),
        ("# all commented out\n# mqtt: {password: {credential: mqtt-password}}\n", ()),
        ("mqtt: {password: {credential: ../etc/shadow}}\n", ()),  # not a credential name: no unit line
    ],
)
def test_credentials_the_config_names(yaml_text: str, names: tuple[str, ...]) -> None:
    assert credentials_in_config(yaml_text) == names


def test_a_config_that_is_not_yaml_stops_the_install_in_one_line() -> None:
    with pytest.raises(EdgeError, match="not valid YAML"):
        credentials_in_config("mqtt: [unclosed\n")
