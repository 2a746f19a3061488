"""One track's bookkeeping: confirmation, summary and the stationary flag."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class TrackSummary:
    tracker_id: int
    class_id: int  # majority vote over the track's matched detections
    first_seen: float
    last_seen: float
    best_score: float
    hits: int
    stationary: bool

    @property
    def duration_s(self) -> float:
        return self.last_seen - self.first_seen


@dataclass(frozen=True)
class EndedTrack:
    summary: TrackSummary
    ts: float
    reason: str  # "lost" (unmatched for lost_after) or the reason given to gap(), e.g. "gap"


@dataclass
class Track:
    first_seen: float
    last_seen: float
    best_score: float
    tracker_id: int = -1  # -1 until confirmed
    hits: int = 1
    votes: Counter[int] = field(default_factory=Counter)
    # (ts, cx, cy, size) of recent observations, trimmed to the stationary window.
    history: deque[tuple[float, float, float, float]] = field(default_factory=deque)
    stationary: bool = False

    @property
    def confirmed(self) -> bool:
        return self.tracker_id >= 0

    def observe(
        self, ts: float, xyxy: npt.NDArray[np.float64], class_id: int, score: float, window_s: float, frac: float
    ) -> None:
        self.last_seen = ts
        self.hits += 1
        self.best_score = max(self.best_score, score)
        self.votes[class_id] += 1
        self.record(ts, xyxy, window_s, frac)

    def record(self, ts: float, xyxy: npt.NDArray[np.float64], window_s: float, frac: float) -> None:
        x1, y1, x2, y2 = xyxy.tolist()
        self.history.append((ts, (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)))
        # Keep one observation older than the window so the span check can tell "long enough".
        while len(self.history) > 2 and self.history[1][0] <= ts - window_s:
            self.history.popleft()
        if ts - self.history[0][0] < window_s:
            self.stationary = False
            return
        # Pure Python on purpose: for ~50 points, numpy's per-call overhead costs more (per track).
        cxs = [h[1] for h in self.history]
        cys = [h[2] for h in self.history]
        size = min(h[3] for h in self.history)
        self.stationary = max(max(cxs) - min(cxs), max(cys) - min(cys)) < frac * size

    def summary(self) -> TrackSummary:
        class_id = self.votes.most_common(1)[0][0] if self.votes else -1
        return TrackSummary(
            self.tracker_id, class_id, self.first_seen, self.last_seen, self.best_score, self.hits, self.stationary
        )
