"""Drawing a held frame: each switch takes its part out, height scales, quality applies."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from edge.messages import ResultMessage, ResultSource
from edge.pipeline.latest import LatestFrame
from edge.web.params import PictureParamError, PictureParams, parse_picture
from edge.web.picture import render_jpeg

_PRED: dict[str, Any] = {
    "x": 50.0,
    "y": 40.0,
    "width": 40.0,
    "height": 30.0,
    "class": "a",
    "class_id": 0,
    "confidence": 0.9,
    "points": [{"x": 35.0, "y": 30.0}, {"x": 65.0, "y": 30.0}, {"x": 50.0, "y": 52.0}],
    "keypoints": [{"x": 50.0, "y": 40.0, "confidence": 0.9, "class": "nose", "class_id": 0}],
}


def _held() -> LatestFrame:
    doc = {"image": {"width": 100, "height": 80}, "predictions": [_PRED]}
    message = ResultMessage("cam", "m", 7, 1.0, ResultSource.LOCAL, doc)
    return LatestFrame("cam", 7, 1.0, np.zeros((80, 100, 3), np.uint8), {"m": message}, ("m",))


def _decoded(params: PictureParams) -> np.ndarray:
    return np.asarray(cv2.imdecode(np.frombuffer(render_jpeg(_held(), params), np.uint8), cv2.IMREAD_COLOR))


@pytest.mark.parametrize("switch", ["boxes", "labels", "masks", "keypoints"])
def test_each_switch_changes_the_drawing(switch: str) -> None:
    full = _decoded(PictureParams(quality=100))
    without = _decoded(PictureParams(quality=100, **{switch: False}))
    assert np.abs(full.astype(int) - without.astype(int)).sum() > 1000


def test_all_off_leaves_the_frame_as_it_was() -> None:
    bare = _decoded(PictureParams(quality=100, boxes=False, labels=False, masks=False, keypoints=False))
    assert bare.max() < 8  # black, but for JPEG noise


def test_height_scales_keeping_the_aspect_ratio() -> None:
    assert _decoded(PictureParams(height=40)).shape == (40, 50, 3)


def test_lower_quality_is_smaller() -> None:
    assert len(render_jpeg(_held(), PictureParams(quality=20))) < len(render_jpeg(_held(), PictureParams(quality=95)))


def test_parse_reads_every_parameter() -> None:
    got = parse_picture({"height": "240", "quality": "60", "masks": "false", "frame": "3", "api_key": "k"})
    assert got == PictureParams(height=240, quality=60, masks=False, frame=3)


@pytest.mark.parametrize("query", [{"colour": "red"}, {"height": "0"}, {"quality": "101"}, {"labels": "maybe"}])
def test_parse_refuses_unknown_and_bad_values_in_one_line(query: dict[str, str]) -> None:
    with pytest.raises(PictureParamError) as exc:
        parse_picture(query)
    assert "\n" not in str(exc.value) and next(iter(query)) in str(exc.value)
