"""Accuracy metrics for the fixture models: mAP50, keypoint hits, top-1, exact set, mIoU.

Used by ``tools/evaluate_fixtures.py`` and the test suite; vectorized per image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.tasks.boxes import box_iou


@dataclass(frozen=True)
class ImageEval:
    """One image's predictions and ground truth for a detection-style task.

    ``iou`` is the (n_pred, n_gt) overlap matrix (box or mask IoU, the caller's choice).
    """

    pred_class: npt.NDArray[np.int64]
    pred_conf: npt.NDArray[np.floating]
    gt_class: npt.NDArray[np.int64]
    iou: npt.NDArray[np.float64]


def mask_iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """(n, m) IoU of two stacks of same-size boolean masks."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    fa = a.reshape(len(a), -1).astype(np.float32)
    fb = b.reshape(len(b), -1).astype(np.float32)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    iou: npt.NDArray[np.float64] = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0).astype(np.float64)
    return iou


def match(ev: ImageEval, threshold: float = 0.5) -> npt.NDArray[np.int64]:
    """For each prediction (best first), the GT index it matches, or -1. Same class, IoU >= threshold."""
    order = np.argsort(-ev.pred_conf, kind="stable")
    taken = np.zeros(len(ev.gt_class), dtype=bool)
    out = np.full(len(ev.pred_class), -1, dtype=np.int64)
    for i in order:
        ious = np.where((ev.gt_class == ev.pred_class[i]) & ~taken, ev.iou[i], -1.0)
        if len(ious) and ious.max() >= threshold:
            j = int(ious.argmax())
            taken[j] = True
            out[i] = j
    return out


def average_precision(recall: npt.NDArray[np.float64], precision: npt.NDArray[np.float64]) -> float:
    """All-point interpolated area under the precision-recall curve."""
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[1.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    return float(np.sum((r[1:] - r[:-1]) * p[1:]))


def map50(images: Sequence[ImageEval], num_classes: int) -> float:
    """Mean over classes present in the ground truth of AP at IoU 0.5."""
    conf, cls, tp = [], [], []
    n_gt = np.zeros(num_classes, dtype=np.int64)
    for ev in images:
        m = match(ev)
        conf.append(ev.pred_conf)
        cls.append(ev.pred_class)
        tp.append(m >= 0)
        n_gt += np.bincount(ev.gt_class, minlength=num_classes)
    all_conf, all_cls, all_tp = np.concatenate(conf), np.concatenate(cls), np.concatenate(tp)
    aps = []
    for c in np.flatnonzero(n_gt):
        sel = all_cls == c
        order = np.argsort(-all_conf[sel], kind="stable")
        hits = all_tp[sel][order].astype(np.float64)
        ctp = np.cumsum(hits)
        recall = ctp / n_gt[c]
        precision = ctp / np.arange(1, len(hits) + 1)
        aps.append(average_precision(recall, precision) if len(hits) else 0.0)
    return float(np.mean(aps)) if aps else 0.0


def box_eval(
    pred_xyxy: npt.NDArray[np.floating],
    pred_conf: npt.NDArray[np.floating],
    pred_class: npt.NDArray[np.int64],
    gt_xyxy: npt.NDArray[np.floating],
    gt_class: npt.NDArray[np.int64],
) -> ImageEval:
    return ImageEval(pred_class, pred_conf, gt_class, box_iou(np.asarray(pred_xyxy), np.asarray(gt_xyxy)))


def keypoint_hits(
    ev: ImageEval,
    pred_kpts: npt.NDArray[np.floating],
    gt_kpts: npt.NDArray[np.floating],
    gt_xyxy: npt.NDArray[np.floating],
    tolerance: float = 0.1,
) -> tuple[int, int]:
    """(hits, total): GT keypoints whose matched prediction lies within ``tolerance`` x box diagonal."""
    total = int(gt_kpts.shape[0] * gt_kpts.shape[1]) if gt_kpts.size else 0
    m = match(ev)
    pi = np.flatnonzero(m >= 0)
    if len(pi) == 0:
        return 0, total
    gi = m[pi]
    diag = np.hypot(gt_xyxy[gi, 2] - gt_xyxy[gi, 0], gt_xyxy[gi, 3] - gt_xyxy[gi, 1])
    dist = np.linalg.norm(pred_kpts[pi] - gt_kpts[gi], axis=-1)
    return int((dist <= tolerance * diag[:, None]).sum()), total


def mean_iou(pred: Sequence[npt.NDArray[np.integer]], gt: Sequence[npt.NDArray[np.integer]], num_classes: int) -> float:
    """Mean over classes of IoU accumulated over all pixels of all images."""
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for p, g in zip(pred, gt):
        conf = np.bincount(g.ravel().astype(np.int64) * num_classes + p.ravel(), minlength=num_classes**2)
        conf = conf.reshape(num_classes, num_classes)
        tp = np.diag(conf)
        inter += tp
        union += conf.sum(0) + conf.sum(1) - tp
    present = union > 0
    return float(np.mean(inter[present] / union[present]))
