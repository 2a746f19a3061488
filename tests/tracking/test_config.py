"""A stream's tracking:, zones: and lines: in the YAML: parsed into TrackingSettings, and every
mistake one line with the file and the line of the key (``edge validate``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from edge.cli import main
from edge.config import ConfigErrors, load_config
from tests.helpers import FIXTURE_MODELS

GOOD = """\
models:
  det: {path: MODEL}
  cls: {path: CLS}
streams:
  door:
    uri: clip.mp4
    models: [det, cls]
    tracking:
      model: det
      lost_after: 2s
      confirm_hits: 2
      reorder_s: 0.25
      max_gap: 10
    zones:
      porch:
        polygon: [[0.1, 0.5], [0.6, 0.5], [0.6, 1.0], [0.1, 1.0]]
        classes: [circle]
        anchor: center
        enter_s: 0.2
        loiter_s: 30
    lines:
      entrance:
        points: [[0.0, 0.6], [1.0, 0.6]]
        classes: [square, circle]
        band: 0.02
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "clip.mp4").write_bytes(b"")
    text = text.replace("MODEL", str(FIXTURE_MODELS / "shapes-detect.onnx"))
    text = text.replace("CLS", str(FIXTURE_MODELS / "shapes-classify.onnx"))
    path = tmp_path / "edge.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_parses_into_settings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    t = config.streams[0].tracking
    assert t is not None
    assert (t.model, t.reorder_s, t.max_gap) == ("det", 0.25, 10.0)
    assert (t.tracker.lost_after, t.tracker.confirm_hits) == (2.0, 2)
    porch = t.zones["porch"]
    assert porch.polygon[0] == (0.1, 0.5) and porch.classes == frozenset({"circle"})
    assert (porch.anchor, porch.enter_s, porch.exit_grace_s, porch.loiter_s) == ("center", 0.2, 1.0, 30.0)
    entrance = t.lines["entrance"]
    assert entrance.points == ((0.0, 0.6), (1.0, 0.6)) and entrance.band == 0.02
    assert entrance.classes == frozenset({"square", "circle"}) and entrance.anchor == "bottom_center"


def test_no_tracking_is_none(tmp_path: Path) -> None:
    text = GOOD.split("    tracking:")[0]
    assert load_config(write(tmp_path, text)).streams[0].tracking is None


# (what to replace in GOOD, with what, the line the error must name, what it must say)
BAD = [
    ("[[0.1, 0.5], [0.6, 0.5], [0.6, 1.0], [0.1, 1.0]]", "[[0.1, 0.5], [0.6, 0.5]]", 16, "at least 3 points"),
    (
        "[[0.1, 0.5], [0.6, 0.5], [0.6, 1.0], [0.1, 1.0]]",
        "[[0.1, 0.5], [0.6, 1.0], [0.6, 0.5], [0.1, 1.0]]",
        16,
        "crosses itself",
    ),
    (
        "[[0.1, 0.5], [0.6, 0.5], [0.6, 1.0], [0.1, 1.0]]",
        "[[0.1, 0.5], [1.6, 0.5], [0.6, 1.0]]",
        16,
        "outside the frame",
    ),
    ("[[0.0, 0.6], [1.0, 0.6]]", "[[0.0, 0.6], [1.0, -0.1]]", 23, "outside the frame"),
    ("[[0.0, 0.6], [1.0, 0.6]]", "[[0.0, 0.6]]", 23, "exactly 2 points"),
    ("      model: det\n", "      model: cls2\n", 9, "does not run on this stream"),
    ("      lost_after: 2s\n", "      lost_aftr: 2s\n", 10, "did you mean 'lost_after'"),
    ("        anchor: center\n", "        anchr: center\n", 18, "unknown key"),
    ("        band: 0.02\n", "        width: 0.02\n", 25, "unknown key"),
    ("        anchor: center\n", "        anchor: middle\n", 18, "use one of bottom_center"),
    ("      confirm_hits: 2\n", "      confirm_hits: 0\n", 11, "whole number from 1"),
    ("        enter_s: 0.2\n", "        enter_s: -1\n", 19, "at least 0 seconds"),
]


@pytest.mark.parametrize(("old", "new", "line", "says"), BAD)
def test_mistakes_are_one_line_with_file_and_line(tmp_path: Path, old: str, new: str, line: int, says: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigErrors) as err:
        load_config(path)
    assert len(err.value.lines) == 1, err.value.lines
    assert err.value.lines[0].startswith(f"{path}:{line}: streams.door."), err.value.lines
    assert says in err.value.lines[0]


def test_zones_and_lines_without_tracking(tmp_path: Path) -> None:
    text = GOOD.replace("    tracking:\n      model: det\n      lost_after: 2s\n", "    trackin_:\n")
    text = "\n".join(
        ln
        for ln in text.splitlines()
        if not ln.startswith("    trackin_")
        and "confirm_hits" not in ln
        and "reorder_s" not in ln
        and "max_gap" not in ln
    )
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigErrors) as err:
        load_config(path)
    assert [e.split(": ", 2)[1] for e in err.value.lines] == ["streams.door.zones", "streams.door.lines"]
    assert all("add tracking: {model: NAME}" in e for e in err.value.lines)
    assert err.value.lines[0].startswith(f"{path}:8:")


def test_every_zone_is_checked_in_one_run(tmp_path: Path) -> None:
    text = GOOD.replace("[[0.1, 0.5], [0.6, 0.5], [0.6, 1.0], [0.1, 1.0]]", "[[0.1, 0.5]]")
    text = text.replace("[[0.0, 0.6], [1.0, 0.6]]", "[[2, 0.6], [1.0, 0.6]]")
    with pytest.raises(ConfigErrors) as err:
        load_config(write(tmp_path, text))
    assert len(err.value.lines) == 2


# (replace, with, the line, what validate must say): checks against the model's spec
MODEL_BAD = [
    ("classes: [circle]", "classes: [hexagon]", 17, "has no class 'hexagon' (it has: circle, square, triangle)"),
    ("classes: [square, circle]", "classes: [square, dog]", 24, "has no class 'dog'"),
    ("      model: det\n", "      model: cls\n", 9, "is a classification model; tracking needs object-detection"),
]


@pytest.mark.parametrize(("old", "new", "line", "says"), MODEL_BAD)
def test_validate_checks_the_tracked_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, line: int, says: str
) -> None:
    text = GOOD.replace(old, new)
    if "model: cls" in new:  # a classifier has none of the zone's classes: drop them to see the task error alone
        text = text.replace("        classes: [circle]\n", "").replace("        classes: [square, circle]\n", "")
    path = write(tmp_path, text)
    assert main(["validate", str(path)]) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if "streams.door" in ln]
    assert len(err) == 1, err
    assert f"{path}:{line}: streams.door." in err[0] and says in err[0]


def test_validate_accepts_a_good_tracking_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    main(["validate", str(path)])
    assert "streams.door" not in capsys.readouterr().err


@pytest.mark.parametrize(("value", "ok"), [("true", True), ("false", True), ("daily", False)])
def test_daily_reset_is_a_flag(tmp_path: Path, value: str, ok: bool) -> None:
    path = write(tmp_path, GOOD.replace("      max_gap: 10\n", f"      max_gap: 10\n      daily_reset: {value}\n"))
    if ok:
        t = load_config(path).streams[0].tracking
        assert t is not None and t.daily_reset is (value == "true")
    else:
        with pytest.raises(
            ConfigErrors, match=r"edge.yaml:14: streams.door.tracking.daily_reset: must be true or false"
        ):
            load_config(path)
