"""Our decoders against Ultralytics' own predictions on the same ONNX files.

The golden JSON was recorded once by tools/train_fixtures.py (Ultralytics is not run here).
"""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest

from edge.evaluation import mask_iou
from edge.model import Model
from edge.tasks.boxes import box_iou
from edge.tasks.params import InferenceParams
from tests.helpers import GOLDEN


def _records(task: str) -> tuple[dict, list[dict]]:
    doc = json.loads((GOLDEN / f"{task}.json").read_text())
    return doc, doc["records"]


def _predict(fixture_models: dict, task: str, record: dict, doc: dict):  # type: ignore[no-untyped-def]
    image = cv2.imread(str(GOLDEN / record["image"]))
    with Model.open(fixture_models[task]) as model:
        params = InferenceParams(confidence=doc["confidence"], overlap=doc["overlap"])
        return model.predict([image], params)[0].result


def _pairs(ours_xyxy: np.ndarray, golden_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best golden match for each of our boxes."""
    iou = box_iou(ours_xyxy, golden_xyxy)
    return iou.argmax(axis=1), iou.max(axis=1)


@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_same_detections_as_ultralytics(fixture_models: dict, task: str) -> None:
    doc, records = _records(task)
    assert sum(len(r["class_id"]) for r in records) >= 3, "golden set should contain detections"
    for rec in records:
        ours = _predict(fixture_models, task, rec, doc)
        golden = np.array(rec["xyxy"], dtype=float).reshape(-1, 4)
        assert len(ours) == len(golden), rec["image"]
        if not len(golden):
            continue
        idx, best = _pairs(ours.xyxy, golden)
        assert sorted(idx.tolist()) == list(range(len(golden)))  # one-to-one
        assert (best >= 0.99).all(), (rec["image"], best)
        assert ours.class_id.tolist() == np.array(rec["class_id"])[idx].tolist()
        np.testing.assert_allclose(ours.confidence, np.array(rec["confidence"])[idx], atol=2e-3)
        if task == "segment":
            golden_masks = np.stack(
                [
                    cv2.imdecode(np.frombuffer(base64.b64decode(m), np.uint8), cv2.IMREAD_GRAYSCALE) > 0
                    for m in rec["masks_png"]
                ]
            )[idx]
            ious = np.diag(mask_iou(ours.masks, golden_masks))
            assert (ious >= 0.95).all(), (rec["image"], ious)
        if task == "pose":
            kp = np.array(rec["keypoints"], dtype=float)[idx]
            np.testing.assert_allclose(ours.keypoints_xy, kp[..., :2], atol=1.0)
            np.testing.assert_allclose(ours.keypoints_confidence, kp[..., 2], atol=2e-3)
