from __future__ import annotations

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.preprocess import PreprocessConfig, plan_geometry
from edge.tasks.detection import Detections, decode_detection
from edge.tasks.params import InferenceParams
from edge.tasks.v1 import ImageSize
from tests.helpers import assert_v1_valid

NAMES = ("circle", "square")
# A 640x480 image letterboxed into 320x320: scale 0.5, 40 px bars above and below.
GEOM = plan_geometry(640, 480, PreprocessConfig(320, 320))


def raw(rows: list[list[float]]) -> np.ndarray:
    """(4 + nc, N) predictions from per-anchor rows [cx, cy, w, h, score_circle, score_square]."""
    return np.array(rows, dtype=np.float32).T


def test_decodes_thresholds_and_suppresses() -> None:
    pred = raw(
        [
            [100, 100, 40, 40, 0.9, 0.1],  # kept
            [102, 101, 40, 40, 0.8, 0.1],  # same object, same class: suppressed
            [101, 100, 40, 40, 0.1, 0.7],  # same place, other class: kept
            [250, 200, 20, 10, 0.3, 0.2],  # below confidence 0.4
        ]
    )
    d = decode_detection(pred, GEOM, NAMES, InferenceParams())
    assert d.class_id.tolist() == [0, 1]
    np.testing.assert_allclose(d.confidence, [0.9, 0.7])
    # network (80..120, 80..120) -> source ((80-0)/0.5, (80-40)/0.5) = (160, 80) .. (240, 160)
    np.testing.assert_allclose(d.xyxy[0], [160, 80, 240, 160])


def test_v1_shape_and_values() -> None:
    d = decode_detection(raw([[100, 100, 40, 40, 0.9, 0.1]]), GEOM, NAMES, InferenceParams())
    doc = d.to_v1(inference_id="abc", time=0.01)
    assert_v1_valid(doc, "object-detection")
    assert list(doc) == ["inference_id", "time", "image", "predictions"]
    p = doc["predictions"][0]
    assert (p["x"], p["y"], p["width"], p["height"]) == (200.0, 120.0, 80.0, 80.0)
    assert (p["class"], p["class_id"]) == ("circle", 0)
    assert doc["image"] == {"width": 640, "height": 480}


def test_box_corners_are_rounded_to_whole_pixels() -> None:
    d = Detections(
        np.array([[10.4, 20.6, 30.5, 41.2]]), np.array([0.5], np.float32), np.array([0]), NAMES, ImageSize(64, 64)
    )
    p = d.to_v1()["predictions"][0]
    assert (p["x"], p["y"], p["width"], p["height"]) == (20.0, 31.0, 20.0, 20.0)


def test_no_detections_is_an_empty_list() -> None:
    d = decode_detection(raw([[100, 100, 40, 40, 0.1, 0.1]]), GEOM, NAMES, InferenceParams())
    doc = d.to_v1(inference_id="x", time=0.0)
    assert_v1_valid(doc, "object-detection")
    assert doc["predictions"] == []


def test_max_detections() -> None:
    rows = [[20 + 30 * i, 100, 10, 10, 0.9, 0.0] for i in range(8)]
    d = decode_detection(raw(rows), GEOM, NAMES, InferenceParams(max_detections=3))
    assert len(d) == 3


def test_from_v1_round_trip() -> None:
    d = decode_detection(
        raw([[100, 100, 40, 40, 0.9, 0.1], [200, 150, 30, 20, 0.2, 0.6]]), GEOM, NAMES, InferenceParams()
    )
    back = Detections.from_v1(d.to_v1(), NAMES)
    np.testing.assert_allclose(back.xyxy, np.round(d.xyxy))
    assert back.class_id.tolist() == d.class_id.tolist() and back.detection_id == d.detection_id


@pytest.mark.parametrize(
    "fields",
    [
        {"xyxy": np.zeros((2, 4)), "confidence": np.zeros(1, np.float32), "class_id": np.zeros(2, int)},
        {"xyxy": np.zeros((1, 3)), "confidence": np.zeros(1, np.float32), "class_id": np.zeros(1, int)},
        {"xyxy": np.zeros((1, 4)), "confidence": np.zeros(1, np.float32), "class_id": np.array([5])},
    ],
)
def test_inconsistent_fields_are_refused(fields: dict) -> None:
    with pytest.raises(EdgeError):
        Detections(**fields, class_names=NAMES, image=ImageSize(10, 10))


@pytest.mark.parametrize(
    ("given", "expected"),
    [((0.4, 0.3), (0.4, 0.3)), ((40, 30), (0.4, 0.3)), ((1, 50), (0.01, 0.5)), ((0.001, 0.3), (0.01, 0.3))],
)
def test_hosted_parameter_scale(given: tuple[float, float], expected: tuple[float, float]) -> None:
    p = InferenceParams.from_hosted(confidence=given[0], overlap=given[1])
    assert (p.confidence, p.overlap) == pytest.approx(expected)


def test_hosted_parameter_out_of_range() -> None:
    with pytest.raises(EdgeError, match="confidence"):
        InferenceParams.from_hosted(confidence=250)
