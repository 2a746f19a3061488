"""The "annotate+jpeg 720p" row of `edge bench`: the device endpoints' renderer, timed per frame."""

from __future__ import annotations

from pathlib import Path

from edge.bench.cli import BenchOptions, picture_measurement
from edge.bench.picture import picture_cost
from edge.bench.report import format_report
from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from edge.model import Model
from tests.helpers import FIXTURE_MODELS


def test_drawing_and_encoding_are_timed_on_720p_frames_with_real_detections(tmp_path: Path) -> None:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 320, 240, 30.0, 6))
    with Model.open(FIXTURE_MODELS / "shapes-detect.onnx") as model:
        cost = picture_cost(model, clip, frames=4)
    assert set(cost) == {"annotate", "jpeg", "total", "detections"}
    assert cost["jpeg"] > 0 and cost["total"] >= cost["jpeg"] and cost["annotate"] >= 0
    assert cost["detections"] > 0  # the shapes clip always has shapes to draw


def test_the_row_is_in_the_report(tmp_path: Path) -> None:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 320, 240, 30.0, 4))
    row = picture_measurement(FIXTURE_MODELS / "shapes-segment.onnx", clip, 3, BenchOptions())
    assert row.kind == "picture" and row.fps > 0
    report = format_report([row], "test machine")
    assert "annotate+jpeg 720p" in report and "shapes-segment.onnx:" in report
    assert "shapes-segment.onnx " not in report.split("annotate+jpeg")[0]  # not a row of the fps table
