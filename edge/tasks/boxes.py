"""Vectorized box maths: format conversion, IoU, per-class non-maximum suppression."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge.tasks import native

FloatArray = npt.NDArray[np.floating]

_MATRIX_NMS_MAX = 512  # candidates up to which NMS takes all pairwise IoUs at once (2 MB)


def cxcywh_to_xyxy(b: FloatArray) -> npt.NDArray[np.float64]:
    b = np.asarray(b, dtype=np.float64)
    half = b[:, 2:4] / 2
    return np.concatenate([b[:, 0:2] - half, b[:, 0:2] + half], axis=1)


def box_area(xyxy: FloatArray) -> npt.NDArray[np.float64]:
    wh = np.clip(np.asarray(xyxy, dtype=np.float64)[:, 2:4] - xyxy[:, 0:2], 0, None)
    area: npt.NDArray[np.float64] = wh[:, 0] * wh[:, 1]
    return area


def box_iou(a: FloatArray, b: FloatArray) -> npt.NDArray[np.float64]:
    """(n, m) IoU of two sets of xyxy boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    iou: npt.NDArray[np.float64] = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def nms(
    xyxy: FloatArray, scores: FloatArray, class_id: npt.NDArray[np.integer], iou: float, max_keep: int
) -> npt.NDArray[np.int64]:
    """Indices kept by greedy per-class NMS (suppress IoU > ``iou``), best score first.

    Boxes of different classes are moved apart by a per-class offset so one pass handles all
    classes. The loop runs once per *kept* box, never per anchor.
    """
    if len(xyxy) == 0 or max_keep == 0:
        return np.zeros(0, dtype=np.int64)
    span = float(np.max(xyxy)) + 1.0
    shifted = np.asarray(xyxy, dtype=np.float64) + (class_id.astype(np.float64) * span)[:, None]
    order = np.argsort(-np.asarray(scores), kind="stable")
    if native.available():  # the same boxes, each IoU computed only while both still stand
        kept: npt.NDArray[np.int64] = order[native.nms_ranked(shifted[order], iou, max_keep)].astype(np.int64)
        return kept
    if len(order) <= _MATRIX_NMS_MAX:
        return _nms_matrix(shifted[order], iou, max_keep, order)
    keep: list[int] = []
    while order.size and len(keep) < max_keep:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        order = rest[box_iou(shifted[i : i + 1], shifted[rest])[0] <= iou]
    return np.asarray(keep, dtype=np.int64)


def _nms_matrix(
    ranked: npt.NDArray[np.float64], iou: float, max_keep: int, order: npt.NDArray[np.intp]
) -> npt.NDArray[np.int64]:
    """The same greedy NMS with every pair's IoU computed at once: a crowded frame keeps
    dozens of boxes, and one numpy call per kept box cost more than the whole matrix."""
    over = box_iou(ranked, ranked) > iou
    suppressed = np.zeros(len(ranked), dtype=bool)
    keep: list[int] = []
    for i in range(len(ranked)):
        if suppressed[i]:
            continue
        keep.append(int(order[i]))
        if len(keep) >= max_keep:
            break
        suppressed |= over[i]
    return np.asarray(keep, dtype=np.int64)
