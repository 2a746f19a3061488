"""Multi-object tracking metrics in plain numpy: CLEAR MOT (MOTA), identity (IDF1) and HOTA.

No SciPy or `motmetrics` in the project's environment, so the optimal assignment is a small
Hungarian (Kuhn-Munkres with potentials). Definitions follow Bernardin & Stiefelhagen 2008
(MOTA) and Ristani et al. 2016 (IDF1), matching boxes at IoU >= 0.5 as MOTChallenge does, and
Luiten et al. 2021 (HOTA, averaged over IoU thresholds 0.05-0.95, computed as TrackEval does).
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
    hota: float
    id_switches: int
    false_positives: int
    misses: int
    gt_boxes: int
    ids: int  # distinct tracker ids output

    def row(self, name: str) -> str:
        return (
            f"{name:<22} {self.hota * 100:6.1f} {self.idf1 * 100:6.1f} {self.mota * 100:6.1f} {self.id_switches:5d}"
            f" {self.false_positives:5d} {self.misses:5d} {self.ids:5d}"
        )


HEADER = f"{'tracker':<22} {'HOTA':>6} {'IDF1':>6} {'MOTA':>6} {'IDSW':>5} {'FP':>5} {'FN':>5} {'ids':>5}"


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


def _matches(overlap: FloatArray, threshold: float, kept: FloatArray) -> list[tuple[int, int]]:
    """Max-IoU matching of one frame's boxes, pairs below `threshold` refused; `kept` (1 where the
    pair was matched last time) comes first, as CLEAR MOT keeps correspondences (and TrackEval)."""
    gain = np.where(overlap >= threshold, overlap + 1000.0 * kept, 0.0)
    pairs = hungarian(-gain)
    return [(g, q) for g, q in pairs if overlap[g, q] >= threshold]


def score(gt: Sequence[FrameBoxes], pred: Sequence[FrameBoxes], threshold: float = 0.5) -> Scores:
    """HOTA, MOTA and IDF1 of a tracker's output `pred` against ground truth `gt`, frame by frame."""
    if len(gt) != len(pred):
        raise ValueError(f"metrics: {len(gt)} ground-truth frames but {len(pred)} tracker frames")
    fp = fn = switches = 0
    last_match: dict[int, int] = {}  # gt id -> tracker id it was last matched to (id switches)
    prev_step: dict[int, int] = {}  # gt id -> tracker id matched in the previous frame (kept first)
    pair_counts: dict[tuple[int, int], int] = {}  # (gt id, tracker id) -> frames overlapping >= threshold
    for g, q in zip(gt, pred):
        overlap = iou(g.xyxy, q.xyxy)
        for gi, qi in zip(*np.nonzero(overlap >= threshold)):
            key = (int(g.ids[gi]), int(q.ids[qi]))
            pair_counts[key] = pair_counts.get(key, 0) + 1
        kept = np.array([[prev_step.get(int(gid)) == int(qid) for qid in q.ids] for gid in g.ids], dtype=np.float64)
        pairs = _matches(overlap, threshold, kept.reshape(overlap.shape))
        fn += len(g.ids) - len(pairs)
        fp += len(q.ids) - len(pairs)
        prev_step = {}
        for gi, qi in pairs:
            gid, qid = int(g.ids[gi]), int(q.ids[qi])
            if gid in last_match and last_match[gid] != qid:
                switches += 1
            last_match[gid] = prev_step[gid] = qid
    n_gt = sum(len(g.ids) for g in gt)
    n_pred = sum(len(q.ids) for q in pred)
    return Scores(
        mota=1.0 - (fn + fp + switches) / max(n_gt, 1),
        idf1=2 * _idtp(pair_counts) / max(n_gt + n_pred, 1),
        hota=hota(gt, pred),
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


ALPHAS = np.arange(0.05, 0.96, 0.05)


def _dense_ids(frames: Sequence[FrameBoxes]) -> tuple[list[IntArray], int]:
    """Ids renumbered 0..n-1 (for count arrays), per frame, and n."""
    table: dict[int, int] = {}
    out = []
    for f in frames:
        out.append(np.array([table.setdefault(int(i), len(table)) for i in f.ids], dtype=np.int64))
    return out, len(table)


def hota(gt: Sequence[FrameBoxes], pred: Sequence[FrameBoxes]) -> float:
    """HOTA averaged over the IoU thresholds ALPHAS: sqrt(DetA * AssA) at each."""
    gids, n_g = _dense_ids(gt)
    pids, n_p = _dense_ids(pred)
    sims = [iou(g.xyxy, q.xyxy) for g, q in zip(gt, pred)]
    g_count, p_count = np.zeros(n_g), np.zeros(n_p)
    potential = np.zeros((n_g, n_p))
    for sim, gi, pi in zip(sims, gids, pids):
        g_count[gi] += 1
        p_count[pi] += 1
        if sim.size:  # soft overlap of every pair, normalized like an IoU of the two rows/columns
            denom = sim.sum(axis=1, keepdims=True) + sim.sum(axis=0, keepdims=True) - sim
            potential[np.ix_(gi, pi)] += np.where(denom > 0, sim / np.maximum(denom, 1e-12), 0.0)
    alignment = potential / np.maximum(g_count[:, None] + p_count[None, :] - potential, 1e-12)
    tp, fn, fp = np.zeros(len(ALPHAS)), np.zeros(len(ALPHAS)), np.zeros(len(ALPHAS))
    matches = np.zeros((len(ALPHAS), n_g, n_p))
    for sim, gi, pi in zip(sims, gids, pids):
        if not sim.size:
            fn += len(gi)
            fp += len(pi)
            continue
        pairs = hungarian(-(alignment[np.ix_(gi, pi)] * sim))
        rows = np.array([r for r, _ in pairs], dtype=np.int64)
        cols = np.array([c for _, c in pairs], dtype=np.int64)
        for k, alpha in enumerate(ALPHAS):
            ok = sim[rows, cols] >= alpha - 1e-9
            tp[k] += ok.sum()
            fn[k] += len(gi) - ok.sum()
            fp[k] += len(pi) - ok.sum()
            np.add.at(matches[k], (gi[rows[ok]], pi[cols[ok]]), 1)
    scores = []
    for k in range(len(ALPHAS)):
        ass = matches[k] / np.maximum(g_count[:, None] + p_count[None, :] - matches[k], 1e-12)
        ass_a = float((matches[k] * ass).sum() / max(tp[k], 1.0))
        det_a = float(tp[k] / max(tp[k] + fn[k] + fp[k], 1.0))
        scores.append(np.sqrt(det_a * ass_a))
    return float(np.mean(scores))
