"""Edge on Roboflow packages of the fixture models against Roboflow's own ``inference_models``.

The golden JSON was recorded once by tools/record_inference_models_goldens.py with
inference_models 0.39.5 (not run here: it needs torch); the packages are rebuilt here by
the same code, so edge reads exactly what inference_models read.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edge.model import Model
from edge.models.loader import load_spec
from edge.models.spec import MaskStyle
from edge.tasks.boxes import box_iou
from edge.tasks.params import InferenceParams
from tests.helpers import GOLDEN
from tools.record_inference_models_goldens import write_package


def _golden(task: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((GOLDEN / f"inference-models-{task}.json").read_text())
    return doc


def _masks(rec: dict[str, Any]) -> np.ndarray:
    return np.stack(
        [cv2.imdecode(np.frombuffer(base64.b64decode(m), np.uint8), cv2.IMREAD_GRAYSCALE) > 0 for m in rec["masks_png"]]
    )


@pytest.mark.parametrize("task", ["detect", "segment", "pose"])
def test_edge_agrees_with_inference_models_on_its_packages(tmp_path: Path, task: str) -> None:
    doc = _golden(task)
    package = write_package(task, tmp_path / task)
    assert load_spec(package).mask_style is MaskStyle.ROBOFLOW
    params = InferenceParams(confidence=doc["confidence"], overlap=doc["overlap"])
    assert sum(len(r["class_id"]) for r in doc["records"]) >= 10, "the goldens should hold predictions"
    mask_ious: list[float] = []
    with Model.open(package) as model:
        for rec in doc["records"]:
            ours = model.predict([cv2.imread(str(GOLDEN / rec["image"]))], params)[0].result
            golden = np.array(rec["xyxy"], dtype=float).reshape(-1, 4)
            assert len(ours) == len(golden), rec["image"]
            if not len(golden):
                continue
            # inference_models reports whole-pixel boxes; edge rounds the same way in its v1 JSON.
            iou = box_iou(np.round(ours.xyxy), golden)
            idx = iou.argmax(axis=1)
            assert sorted(idx.tolist()) == list(range(len(golden))), rec["image"]
            assert (iou.max(axis=1) >= 0.99).all(), (rec["image"], iou.max(axis=1))
            assert ours.class_id.tolist() == np.array(rec["class_id"])[idx].tolist()
            np.testing.assert_allclose(ours.confidence, np.array(rec["confidence"])[idx], atol=2e-3)
            if task == "segment":
                want, got = _masks(rec)[idx], ours.full_masks()
                inter, union = (want & got).sum(axis=(1, 2)), (want | got).sum(axis=(1, 2))
                mask_ious += (inter / np.maximum(union, 1)).tolist()
            if task == "pose":
                kp = np.array(rec["keypoints"], dtype=float)[idx]
                np.testing.assert_allclose(ours.keypoints_xy, kp[..., :2], atol=1.0)
                np.testing.assert_allclose(ours.keypoints_confidence, kp[..., 2], atol=2e-3)
    if task == "segment":
        assert len(mask_ious) >= 10 and min(mask_ious) >= 0.98, sorted(mask_ious)[:5]


def test_an_ultralytics_export_keeps_ultralytics_masks(fixture_models: dict) -> None:
    assert load_spec(fixture_models["segment"]).mask_style is MaskStyle.ULTRALYTICS
