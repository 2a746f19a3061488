from __future__ import annotations

import numpy as np
import pytest

from edge.preprocess import PreprocessConfig, plan_geometry
from edge.tasks.keypoints import KeypointDetections, decode_keypoints
from edge.tasks.params import InferenceParams
from tests.helpers import assert_v1_valid

NAMES = ("arrow",)
KNAMES = (("tip", "right", "left"),)
GEOM = plan_geometry(640, 480, PreprocessConfig(320, 320))


def _pred() -> np.ndarray:
    # box, class score, then (x, y, conf) for tip, right, left
    row = [100, 100, 40, 40, 0.9, 110, 90, 0.95, 90, 110, 0.6, 95, 95, 0.0]
    return np.array([row], dtype=np.float32).T


def test_keypoints_map_to_source_pixels() -> None:
    r = decode_keypoints(_pred(), GEOM, NAMES, KNAMES, 3, InferenceParams())
    np.testing.assert_allclose(r.keypoints_xy[0, 0], [220, 100])  # (110, 90-40) / 0.5
    np.testing.assert_allclose(r.keypoints_confidence[0], [0.95, 0.6, 0.0], atol=1e-6)


@pytest.mark.parametrize(("threshold", "names"), [(0.0, ["tip", "right"]), (0.7, ["tip"]), (0.99, [])])
def test_v1_drops_keypoints_below_threshold_and_zero(threshold: float, names: list[str]) -> None:
    r = decode_keypoints(_pred(), GEOM, NAMES, KNAMES, 3, InferenceParams(keypoint_confidence=threshold))
    doc = r.to_v1(inference_id="i", time=0.0)
    assert_v1_valid(doc, "keypoint-detection")
    kps = doc["predictions"][0]["keypoints"]
    assert [k["class"] for k in kps] == names
    assert all(k["class_id"] == ["tip", "right", "left"].index(k["class"]) for k in kps)


def test_from_v1_reads_class_name_from_older_servers() -> None:
    r = decode_keypoints(_pred(), GEOM, NAMES, KNAMES, 3, InferenceParams())
    doc = r.to_v1()
    for k in doc["predictions"][0]["keypoints"]:
        k["class_name"] = k.pop("class")
    back = KeypointDetections.from_v1(doc)
    assert back.keypoint_names == (("tip", "right"),)
    np.testing.assert_allclose(back.keypoints_xy[0, :2], np.round(r.keypoints_xy[0, :2]))


def test_empty() -> None:
    r = decode_keypoints(_pred(), GEOM, NAMES, KNAMES, 3, InferenceParams(confidence=0.95))
    doc = r.to_v1(inference_id="i", time=0.0)
    assert_v1_valid(doc, "keypoint-detection")
    assert doc["predictions"] == []
