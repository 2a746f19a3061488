from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from edge.config import ConfigErrors, parse_config
from tests.helpers import FIXTURE_MODELS

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


def config(extra: str, mqtt: bool = True) -> str:
    text = f"""\
        models: {{det: {{path: {DETECT}}}}}
        streams:
          door: {{uri: rtsp://cam.local/a, models: [det]}}
          yard: {{uri: rtsp://cam.local/b, models: [det]}}
        """
    if mqtt:
        text += "mqtt: {host: localhost, device_id: dev1}\n"
    return textwrap.dedent(text) + textwrap.dedent(extra)


def test_on_by_default_with_mqtt_and_off_without() -> None:
    ha = parse_config(config("")).homeassistant
    assert ha is not None and (ha.discovery_prefix, ha.status_topic, ha.state_min_interval) == (
        "homeassistant",
        "homeassistant/status",
        1.0,
    )
    assert parse_config(config("", mqtt=False)).homeassistant is None
    assert parse_config(config("homeassistant: {enabled: false}\n")).homeassistant is None


def test_classes_for_all_streams_or_per_stream() -> None:
    ha = parse_config(config("homeassistant: {classes: [circle]}\n")).homeassistant
    assert ha is not None and ha.classes_for("door", ["square"]) == ("circle",)
    ha = parse_config(config("homeassistant: {classes: {door: [square]}, discovery_prefix: ha}\n")).homeassistant
    assert ha is not None and ha.classes_for("door", ["circle"]) == ("square",)
    assert ha.classes_for("yard", ["circle", "square"]) == ("circle", "square")
    assert ha.status_topic == "ha/status"


@pytest.mark.parametrize(
    ("extra", "mqtt", "error"),
    [
        ("homeassistant: {clases: [a]}\n", True, ":6: homeassistant.clases: unknown key; did you mean 'classes'?"),
        ("homeassistant: {classes: {gate: [a]}}\n", True, ":6: homeassistant.classes.gate: no stream named 'gate'"),
        ("homeassistant: {classes: person}\n", True, ":6: homeassistant.classes: must be a list of class names"),
        ("homeassistant: {discovery_prefix: 'ha/#'}\n", True, "homeassistant.discovery_prefix: must not contain '#'"),
        ("homeassistant: {snapshot_quality: 0}\n", True, "homeassistant.snapshot_quality: must be between 1 and 100"),
        ("homeassistant: {}\n", False, ":5: homeassistant: needs an mqtt: section"),
    ],
)
def test_errors_name_the_file_line_and_key(extra: str, mqtt: bool, error: str) -> None:
    with pytest.raises(ConfigErrors) as exc:
        parse_config(config(extra, mqtt), Path("edge.yaml"))
    (line,) = exc.value.lines
    assert line.startswith("edge.yaml:") and error in line, line
