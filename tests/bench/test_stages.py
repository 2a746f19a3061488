"""The step-by-step stage split `edge bench` prints for one stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.bench.stages import STAGES, stage_profile
from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from edge.model import Model
from tests.helpers import FIXTURE_MODELS


@pytest.mark.parametrize(("model", "traces_polygons"), [("shapes-detect.onnx", False), ("shapes-segment.onnx", True)])
def test_every_stage_is_timed(tmp_path: Path, model: str, traces_polygons: bool) -> None:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 320, 240, 30.0, 12))
    with Model.open(FIXTURE_MODELS / model) as m:
        split = stage_profile(m, clip, frames=8).ms
    assert tuple(split) == STAGES
    assert all(v >= 0 for v in split.values())
    assert split["decode"] > 0 and split["infer"] > 0 and split["json"] > 0
    # Detections have no polygons to trace; the shapes clip's segmentations do.
    assert (split["polygons"] > 0) is traces_polygons
    assert (split["masks"] > 0) is traces_polygons  # only instance segmentation has masks


def test_a_clip_shorter_than_asked_is_averaged_over_its_frames(tmp_path: Path) -> None:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 160, 120, 30.0, 3))
    with Model.open(FIXTURE_MODELS / "shapes-detect.onnx") as m:
        prof = stage_profile(m, clip, frames=50)
    assert prof.ms["infer"] > 0 and prof.frames == 3
