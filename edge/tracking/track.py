"""One track's bookkeeping: confirmation, summary and the stationary flag."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrackSummary:
    tracker_id: int
    class_id: int  # majority vote over the track's matched detections
    first_seen: float
    last_seen: float
    best_score: float
    hits: int
    stationary: bool
    first_box: tuple[float, float, float, float] | None = None  # xyxy pixels of its first detection

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
    class_id: int = -1  # the class with most votes so far (a tie keeps the current one)
    # (ts, cx, cy, size) of recent observations, trimmed to the stationary window.
    history: deque[tuple[float, float, float, float]] = field(default_factory=deque)
    window_s: float = 3.0  # the stationary window and fraction the last observation used
    frac: float = 0.1
    first_box: tuple[float, float, float, float] | None = None

    @property
    def confirmed(self) -> bool:
        return self.tracker_id >= 0

    def vote(self, class_id: int) -> None:
        self.votes[class_id] += 1
        if self.class_id < 0 or self.votes[class_id] > self.votes[self.class_id]:
            self.class_id = class_id

    def observe(
        self, ts: float, box: Sequence[float], class_id: int, score: float, window_s: float, frac: float
    ) -> None:
        """A matched detection; `box` is xyxy pixels as plain floats (no numpy per track)."""
        self.last_seen = ts
        self.hits += 1
        self.best_score = max(self.best_score, score)
        self.vote(class_id)
        self.record(ts, box, window_s, frac)

    def record(self, ts: float, box: Sequence[float], window_s: float, frac: float) -> None:
        x1, y1, x2, y2 = box
        if self.first_box is None:
            self.first_box = (x1, y1, x2, y2)
        self.window_s, self.frac = window_s, frac
        self.history.append((ts, (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)))
        # Keep one observation older than the window so the span check can tell "long enough".
        while len(self.history) > 2 and self.history[1][0] <= ts - window_s:
            self.history.popleft()

    @property
    def stationary(self) -> bool:
        """Its centre moved less than `frac` of its (smallest) size over the last `window_s`.

        Computed when asked (summaries: confirmation, end), not per observation: at 100 tracks
        the per-frame scan of every history cost more than the whole association."""
        h = self.history
        if not h or h[-1][0] - h[0][0] < self.window_s:
            return False
        cxs = [p[1] for p in h]
        cys = [p[2] for p in h]
        size = min(p[3] for p in h)
        return max(max(cxs) - min(cxs), max(cys) - min(cys)) < self.frac * size

    def summary(self) -> TrackSummary:
        return TrackSummary(
            self.tracker_id,
            self.class_id,
            self.first_seen,
            self.last_seen,
            self.best_score,
            self.hits,
            self.stationary,
            self.first_box,
        )
