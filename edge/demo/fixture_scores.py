"""Score the shapes-world fixture models on held-out scenes, through the v1 JSON.

Used by ``tools/evaluate_fixtures.py`` (full scores) and the test suite (a small set).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edge.demo.shapes import Scene, SceneKind, held_out
from edge.evaluation import ImageEval, box_eval, keypoint_hits, map50, mask_iou, mean_iou
from edge.model import Model
from edge.tasks.detection import Detections
from edge.tasks.instance_segmentation import InstanceSegmentation
from edge.tasks.keypoints import KeypointDetections
from edge.tasks.params import InferenceParams
from edge.tasks.semantic_segmentation import SemanticSegmentation

FIXTURE_TARGETS: dict[str, dict[str, float]] = {
    "detect": {"box_map50": 0.90},
    "segment": {"mask_map50": 0.85},
    "pose": {"box_map50": 0.85, "keypoints_within_0.1_diag": 0.85},
    "classify": {"top1": 0.95},
    "multilabel": {"exact_set": 0.85},
    "semantic": {"miou": 0.80},
}

# mAP needs the low-confidence tail of the precision/recall curve: score at the hosted
# API's floor, not at its 0.4 default.
EVAL_CONFIDENCE = 0.01


def _scene_kind(task: str) -> SceneKind:
    return {
        "pose": SceneKind.POSE,
        "classify": SceneKind.CLASSIFY,
        "multilabel": SceneKind.MULTILABEL,
    }.get(task, SceneKind.DETECT)


def score_fixture(model: Model, task: str, scenes: Sequence[Scene]) -> dict[str, float]:
    """Metrics of ``model`` on ``scenes``; every prediction goes through to_v1 and back."""
    params = InferenceParams(confidence=EVAL_CONFIDENCE)
    docs = [model.predict([s.image], params)[0].to_v1() for s in scenes]
    names = model.spec.class_names
    if task == "detect":
        dets = [Detections.from_v1(d, names) for d in docs]
        evs = [box_eval(p.xyxy, p.confidence, p.class_id, s.boxes, s.class_ids) for p, s in zip(dets, scenes)]
        return {"box_map50": map50(evs, len(names))}
    if task == "pose":
        kps = [KeypointDetections.from_v1(d, names) for d in docs]
        evs = [box_eval(p.xyxy, p.confidence, p.class_id, s.boxes, s.class_ids) for p, s in zip(kps, scenes)]
        hits = total = 0
        for p, s, ev in zip(kps, scenes, evs):
            h, t = keypoint_hits(ev, p.keypoints_xy, s.keypoints, s.boxes)
            hits, total = hits + h, total + t
        return {"box_map50": map50(evs, len(names)), "keypoints_within_0.1_diag": hits / max(total, 1)}
    if task == "segment":
        segs = [InstanceSegmentation.from_v1(d, names) for d in docs]
        evs = [
            ImageEval(m.class_id, m.confidence, s.class_ids, mask_iou(m.masks, s.instance_masks()))
            for m, s in zip(segs, scenes)
        ]
        return {"mask_map50": map50(evs, len(names))}
    if task == "classify":
        hits = sum(d["top"] == names[int(s.class_ids[0])] for d, s in zip(docs, scenes))
        return {"top1": hits / len(scenes)}
    if task == "multilabel":
        exact = sum(set(d["predicted_classes"]) == {names[i] for i in s.labels} for d, s in zip(docs, scenes))
        return {"exact_set": exact / len(scenes)}
    maps = [SemanticSegmentation.from_v1(d, names).class_map for d in docs]
    return {"miou": mean_iou(maps, [s.semantic for s in scenes], len(names))}


def evaluate_fixture(model_path: str | Path, task: str, count: int, seed: int) -> dict[str, float]:
    """Open the model, draw ``count`` held-out scenes from ``seed`` and score them."""
    with Model.open(model_path) as model:
        return score_fixture(model, task, held_out(seed, count, _scene_kind(task)))
