"""Multi-object tracking metrics in plain numpy: CLEAR MOT (MOTA) and identity scores (IDF1).

No SciPy or `motmetrics` in the project's environment, so the optimal assignment is a small
Hungarian (Kuhn-Munkres with potentials). Definitions follow Bernardin & Stiefelhagen 2008
(MOTA) and Ristani et al. 2016 (IDF1), matching boxes at IoU >= 0.5 as MOTChallenge does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FrameBoxes:
    """One frame's boxes: xyxy (N, 4) and an id per box (ground truth or tracker output)."""

    xyxy: FloatArray
    ids: IntArray


@dataclass(frozen=True)
class Scores:
    mota: float
    idf1: float
    id_switches: int
    false_positives: int
    misses: int
    gt_boxes: int
    ids: int  # distinct tracker ids output

    def row(self, name: str) -> str:
        return (
            f"{name:<22} {self.idf1 * 100:6.1f} {self.mota * 100:6.1f} {self.id_switches:5d}"
            f" {self.false_positives:5d} {self.misses:5d} {self.ids:5d}"
        )


HEADER = f"{'tracker':<22} {'IDF1':>6} {'MOTA':>6} {'IDSW':>5} {'FP':>5} {'FN':>5} {'ids':>5}"


def iou(a: FloatArray, b: FloatArray) -> FloatArray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return np.asarray(inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12))


def hungarian(cost: FloatArray) -> list[tuple[int, int]]:
    """Minimum-cost assignment of a rectangular matrix: (row, col) pairs, min(rows, cols) of them."""
    transposed = cost.shape[0] > cost.shape[1]
    c = cost.T if transposed else cost
    n, m = c.shape
    if n == 0:
        return []
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    p = np.zeros(m + 1, dtype=np.int64)  # p[j]: row (1-based) assigned to column j; 0 = none
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0], j0 = i, 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            free = ~used[1:]
            cur = c[i0 - 1] - u[i0] - v[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    pairs = [(int(p[j]) - 1, j - 1) for j in range(1, m + 1) if p[j]]
    return sorted((b, a) for a, b in pairs) if transposed else sorted(pairs)


def _matches(overlap: FloatArray, threshold: float) -> list[tuple[int, int]]:
    """Max-IoU matching of one frame's boxes, pairs below `threshold` refused."""
    pairs = hungarian(np.where(overlap >= threshold, -overlap, 1.0))
    return [(g, q) for g, q in pairs if overlap[g, q] >= threshold]


def score(gt: Sequence[FrameBoxes], pred: Sequence[FrameBoxes], threshold: float = 0.5) -> Scores:
    """MOTA and IDF1 of a tracker's output `pred` against ground truth `gt`, frame by frame."""
    if len(gt) != len(pred):
        raise ValueError(f"metrics: {len(gt)} ground-truth frames but {len(pred)} tracker frames")
    fp = fn = switches = 0
    last_match: dict[int, int] = {}  # gt id -> tracker id it was last matched to
    pair_counts: dict[tuple[int, int], int] = {}  # (gt id, tracker id) -> frames overlapping >= threshold
    for g, q in zip(gt, pred):
        overlap = iou(g.xyxy, q.xyxy)
        for gi, qi in zip(*np.nonzero(overlap >= threshold)):
            key = (int(g.ids[gi]), int(q.ids[qi]))
            pair_counts[key] = pair_counts.get(key, 0) + 1
        pairs = _matches(overlap, threshold)
        fn += len(g.ids) - len(pairs)
        fp += len(q.ids) - len(pairs)
        for gi, qi in pairs:
            gid, qid = int(g.ids[gi]), int(q.ids[qi])
            if gid in last_match and last_match[gid] != qid:
                switches += 1
            last_match[gid] = qid
    n_gt = sum(len(g.ids) for g in gt)
    n_pred = sum(len(q.ids) for q in pred)
    return Scores(
        mota=1.0 - (fn + fp + switches) / max(n_gt, 1),
        idf1=2 * _idtp(pair_counts) / max(n_gt + n_pred, 1),
        id_switches=switches,
        false_positives=fp,
        misses=fn,
        gt_boxes=n_gt,
        ids=len({int(i) for q in pred for i in q.ids}),
    )


def _idtp(pair_counts: dict[tuple[int, int], int]) -> int:
    """Identity true positives: frames matched under the best one-to-one map of gt ids to tracker ids."""
    if not pair_counts:
        return 0
    gids = sorted({g for g, _ in pair_counts})
    qids = sorted({q for _, q in pair_counts})
    w = np.zeros((len(gids), len(qids)))
    for (g, q), n in pair_counts.items():
        w[gids.index(g), qids.index(q)] = n
    return int(sum(w[r, c] for r, c in hungarian(-w)))
