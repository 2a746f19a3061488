"""IoU and a greedy assignment.

Neither SciPy nor `lap` is in the project's environment, and a Jetson image may lack both, so the
assignment is ours: greedy by descending IoU. With ByteTrack's IoU gates the candidate pairs are
sparse and nearly always unambiguous, where greedy and Hungarian give the same matches; it is also
O(pairs log pairs), cheaper than Hungarian at 100 objects.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """(len(a), len(b)) IoU of xyxy boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)  # np.maximum: cheaper than np.clip
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def greedy_assign(score: FloatArray, min_score: float) -> tuple[IntArray, IntArray]:
    """Row and column indices of matched pairs, best score first, each row and column used once."""
    rows, cols = np.nonzero(score >= min_score)
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(-score[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    out_r: list[int] = []
    out_c: list[int] = []
    for r, c in zip(rows[order].tolist(), cols[order].tolist()):  # loops over candidate pairs only
        if r in used_r or c in used_c:
            continue
        used_r.add(r)
        used_c.add(c)
        out_r.append(r)
        out_c.append(c)
    return np.array(out_r, dtype=np.int64), np.array(out_c, dtype=np.int64)
