"""Synthetic sequences with ground truth: boxes moving at constant speed, sampled at chosen times."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from edge.tracking.bytetrack import ByteTracker
from edge.tracking.detections import Detections

WIDTH, HEIGHT = 640.0, 480.0


@dataclass(frozen=True)
class Mover:
    """A box of size (w, h) whose centre moves from start at velocity (px/s) from t0 to t1."""

    start: tuple[float, float]
    velocity: tuple[float, float]
    size: tuple[float, float] = (40.0, 60.0)
    class_id: int = 0
    t0: float = 0.0
    t1: float = 1e9
    jitter: float = 0.0
    hidden: tuple[float, float] = (0.0, 0.0)  # [from, to) seconds undetected

    def box(self, ts: float, rng: np.random.Generator) -> np.ndarray | None:
        if not self.t0 <= ts <= self.t1 or self.hidden[0] <= ts < self.hidden[1]:
            return None
        cx = self.start[0] + self.velocity[0] * (ts - self.t0) + rng.normal(0, self.jitter)
        cy = self.start[1] + self.velocity[1] * (ts - self.t0) + rng.normal(0, self.jitter)
        w, h = self.size
        return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def frame_times(duration: float, fps: float, drop: float = 0.0, uneven: float = 0.0, seed: int = 0) -> list[float]:
    """Capture times: nominal fps, each period stretched by up to +-uneven, a fraction dropped."""
    rng = np.random.default_rng(seed)
    times: list[float] = []
    ts = 0.0
    while ts <= duration:
        if rng.random() >= drop:
            times.append(round(ts, 6))
        ts += (1.0 / fps) * (1.0 + rng.uniform(-uneven, uneven))
    return times


def detections_at(movers: Sequence[Mover], ts: float, rng: np.random.Generator) -> tuple[Detections, list[int]]:
    """The detections at ts and, per detection, the index of the mover it came from (ground truth)."""
    boxes, classes, truth = [], [], []
    for i, m in enumerate(movers):
        b = m.box(ts, rng)
        if b is not None:
            boxes.append(b)
            classes.append(m.class_id)
            truth.append(i)
    dets = Detections(np.array(boxes).reshape(-1, 4), np.array(classes, dtype=np.int64), np.full(len(boxes), 0.9))
    return dets, truth


Observer = Callable[[float, Detections, np.ndarray, list[int]], None]


def run(
    tracker: ByteTracker, movers: Sequence[Mover], times: Sequence[float], observe: Observer | None = None
) -> dict[int, set[int]]:
    """Feeds the tracker; returns, per mover, the set of confirmed tracker ids it was given."""
    rng = np.random.default_rng(1)
    ids: dict[int, set[int]] = {i: set() for i in range(len(movers))}
    for ts in times:
        dets, truth = detections_at(movers, ts, rng)
        out = tracker.update(dets, ts)
        assert len(out.tracker_id) == len(dets)  # nothing is ever dropped
        for tid, gt in zip(out.tracker_id.tolist(), truth):
            if tid >= 0:
                ids[gt].add(tid)
        if observe is not None:
            observe(ts, dets, out.tracker_id, truth)
    return ids
