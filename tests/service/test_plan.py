"""The steps of ``edge service install`` / ``uninstall`` for the hosts an operator meets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from edge.errors import EdgeError
from edge.service.actions import MakeDir, Remove, Run, WriteFile
from edge.service.plan import (
    CONFIG,
    UNIT_PATH,
    Host,
    check_edge_path,
    example_config,
    install_plan,
    uninstall_plan,
)

HOST = Host(
    root=Path("/"),
    edge=Path("/opt/edge/.venv/bin/edge"),
    python=Path("/opt/edge/.venv/bin/python"),
    groups=("video", "render"),
    user_groups=None,
    jetson=False,
    pip_opencv=("opencv-python-headless",),
    system_opencv=True,
)


def _runs(actions: list) -> list[tuple[str, ...]]:  # type: ignore[type-arg]
    return [a.argv for a in actions if isinstance(a, Run)]


def _unit(actions: list) -> str:  # type: ignore[type-arg]
    return next(a.text for a in actions if isinstance(a, WriteFile) and a.path == UNIT_PATH)


@pytest.mark.parametrize(
    ("changes", "user_step"),
    [
        ({}, ("useradd", "--system")),
        ({"groups": ("video",)}, ("useradd", "--system")),
        ({"user_groups": ("edge",)}, ("usermod", "--append", "--groups", "video,render", "edge")),
        ({"user_groups": ("edge", "video")}, ("usermod", "--append", "--groups", "render", "edge")),
        ({"user_groups": ("edge", "video", "render")}, None),
    ],
)
def test_the_edge_user_is_made_or_given_the_missing_groups(changes: dict, user_step: tuple | None) -> None:  # type: ignore[type-arg]
    host = dataclasses.replace(HOST, **changes)
    runs = _runs(install_plan(host, None))
    if user_step is None:
        assert not any(r[0] in ("useradd", "usermod") for r in runs)
        return
    assert runs[0][: len(user_step)] == user_step
    if user_step[0] == "useradd":
        assert runs[0][-1] == "edge" and ("--groups", ",".join(host.groups)) == runs[0][-3:-1]


def test_a_fresh_install_in_order() -> None:
    actions = install_plan(HOST, None)
    kinds = [type(a).__name__ + ":" + str(getattr(a, "path", "") or a.argv[0]) for a in actions]  # type: ignore[union-attr]
    assert kinds == [
        "Run:useradd",
        "MakeDir:/etc/edge",
        "MakeDir:/etc/edge/credentials",
        "MakeDir:/var/lib/edge",
        "WriteFile:/etc/edge/edge.yaml",
        "WriteFile:/etc/systemd/system/edge.service",
        "Run:systemctl",
    ]
    assert actions[-1] == Run(("systemctl", "daemon-reload"))
    state = next(a for a in actions if isinstance(a, MakeDir) and a.path == Path("/var/lib/edge"))
    assert (state.owner, state.group, state.mode) == ("edge", "edge", 0o750)
    assert next(a for a in actions if isinstance(a, WriteFile) and a.path == CONFIG).text == example_config()


def test_an_existing_config_is_kept_and_its_credentials_go_into_the_unit() -> None:
    config = "mqtt: {host: b, password: {credential: mqtt-password}}\n"
    actions = install_plan(HOST, config)
    assert not any(isinstance(a, WriteFile) and a.path == CONFIG for a in actions)
    unit = _unit(actions)
    assert "LoadCredential=mqtt-password:/etc/edge/credentials/mqtt-password" in unit
    assert "roboflow-api-key" not in unit


def test_the_unit_runs_this_venv_s_edge() -> None:
    unit = _unit(install_plan(dataclasses.replace(HOST, edge=Path("/srv/e/venv/bin/edge")), None))
    assert "ExecStart=/srv/e/venv/bin/edge run --config /etc/edge/edge.yaml" in unit
    assert "/opt/edge" not in unit


@pytest.mark.parametrize(
    ("jetson", "pip_opencv", "system_opencv", "keep", "uninstalls"),
    [
        (True, ("opencv-python-headless",), True, False, True),
        (True, ("opencv-python-headless",), True, True, False),
        (True, ("opencv-python-headless",), False, False, False),  # nothing to take over: keep what works
        (True, (), True, False, False),  # JetPack's OpenCV is what Python finds already
        (False, ("opencv-python-headless",), True, False, False),  # a desktop needs the pip one
    ],
)
def test_on_a_jetson_the_pip_opencv_goes_so_jetpack_s_is_used(
    jetson: bool, pip_opencv: tuple[str, ...], system_opencv: bool, keep: bool, uninstalls: bool
) -> None:
    host = dataclasses.replace(HOST, jetson=jetson, pip_opencv=pip_opencv, system_opencv=system_opencv)
    pip = [r for r in _runs(install_plan(host, None, keep_pip_opencv=keep)) if "pip" in r]
    expected = [("/opt/edge/.venv/bin/python", "-m", "pip", "uninstall", "--yes", "opencv-python-headless")]
    assert pip == (expected if uninstalls else [])


@pytest.mark.parametrize(
    ("purge", "removed"),
    [(False, [UNIT_PATH]), (True, [UNIT_PATH, Path("/var/lib/edge"), Path("/etc/edge")])],
)
def test_uninstall_keeps_state_and_config_unless_purged(purge: bool, removed: list[Path]) -> None:
    actions = uninstall_plan(purge)
    assert [a.path for a in actions if isinstance(a, Remove)] == removed
    assert (("userdel", "edge") in _runs(actions)) is purge
    assert _runs(actions)[0] == ("systemctl", "disable", "--now", "edge.service")


@pytest.mark.parametrize(
    ("where", "message"),
    [("/home/pi/edge/.venv/bin/edge", "ProtectHome"), ("/root/edge/.venv/bin/edge", "ProtectHome"), (None, "no edge")],
)
def test_an_edge_the_service_cannot_run_is_refused(tmp_path: Path, where: str | None, message: str) -> None:
    path = tmp_path / "missing" / "edge" if where is None else Path(where)
    with pytest.raises(EdgeError, match=message):
        check_edge_path(path)


def test_the_example_config_is_valid_once_its_model_is_there() -> None:
    from edge.config import parse_config

    model = Path(__file__).resolve().parents[1] / "fixtures" / "models" / "shapes-detect.onnx"
    text = example_config()
    assert "/etc/edge/models/detect.onnx" in text
    config = parse_config(text.replace("/etc/edge/models/detect.onnx", str(model)))
    assert list(config.models) == ["detect"] and [s.name for s in config.streams] == ["front-door"]
