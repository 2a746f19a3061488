"""A reload that changes only a stream's tracking, zones or lines applies them in place."""

from __future__ import annotations

from pathlib import Path

from edge.config import parse_config
from edge.daemon.reload import plan_reload
from tests.helpers import FIXTURE_MODELS

BASE = """\
models:
  det: {{path: {model}}}
streams:
  door:
    uri: {clip}
    models: [det]
{extra}
"""
TRACKED = "    tracking: {model: det}\n    lines: {a: {points: [[0, 0.5], [1, 0.5]]}}"


def config(tmp_path: Path, extra: str, uri: str = "clip.mp4"):  # type: ignore[no-untyped-def]
    text = BASE.format(model=FIXTURE_MODELS / "shapes-detect.onnx", clip=tmp_path / uri, extra=extra)
    return parse_config(text, tmp_path / "edge.yaml")


def test_tracking_only_changes_do_not_restart_the_stream(tmp_path: Path) -> None:
    old = config(tmp_path, TRACKED)
    for new_extra in (
        TRACKED.replace("0.5]]", "0.6]]"),
        "",
        TRACKED + "\n    zones: {z: {polygon: [[0, 0], [1, 0], [1, 1]]}}",
    ):
        plan = plan_reload(old, config(tmp_path, new_extra))
        assert (plan.streams_restarted, plan.tracking_changed) == ((), ("door",)), new_extra
        assert "tracking changed: door" in plan.describe()


def test_a_source_change_restarts_the_stream_and_is_not_a_tracking_change(tmp_path: Path) -> None:
    plan = plan_reload(config(tmp_path, TRACKED), config(tmp_path, TRACKED, uri="other.mp4"))
    assert (plan.streams_restarted, plan.tracking_changed) == (("door",), ())


def test_nothing_changed_is_empty(tmp_path: Path) -> None:
    assert plan_reload(config(tmp_path, TRACKED), config(tmp_path, TRACKED)).empty
