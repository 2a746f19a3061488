"""Counters, rates and latency percentiles, bounded in memory however long the daemon runs."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.messages import StreamStats


class RateWindow:
    """Events per second over the last ``horizon`` seconds."""

    def __init__(self, horizon: float = 5.0, maxlen: int = 4096) -> None:
        self._marks: deque[float] = deque(maxlen=maxlen)
        self._horizon = horizon
        self._start = time.monotonic()

    def mark(self, now: float | None = None, n: int = 1) -> None:
        t = time.monotonic() if now is None else now
        for _ in range(n):
            self._marks.append(t)

    def rate(self, now: float | None = None) -> float:
        t = time.monotonic() if now is None else now
        lo = t - self._horizon
        count = sum(1 for m in self._marks if m >= lo)
        span = min(self._horizon, max(t - self._start, 1e-6))
        return count / span


class LatencyWindow:
    """The most recent ``maxlen`` latencies (seconds) and their percentiles."""

    def __init__(self, maxlen: int = 1024) -> None:
        self._values: deque[float] = deque(maxlen=maxlen)

    def add(self, seconds: float) -> None:
        self._values.append(seconds)

    def percentiles(self, *qs: float) -> tuple[float, ...]:
        if not self._values:
            return tuple(0.0 for _ in qs)
        arr = np.fromiter(self._values, dtype=np.float64, count=len(self._values))
        return tuple(float(v) for v in np.percentile(arr, qs))


@dataclass
class RouteCounts:
    """One (stream, model) route. Once idle: ``offered == inferred + dropped + errors``."""

    offered: int = 0
    inferred: int = 0  # hosted answers included
    dropped: int = 0
    errors: int = 0
    hosted: int = 0  # of ``inferred``, answered by the hosted API


@dataclass
class StreamCounters:
    """Everything counted for one stream, guarded by ``lock``."""

    routes: dict[str, RouteCounts]
    lock: threading.Lock = field(default_factory=threading.Lock)
    fps_in: RateWindow = field(default_factory=RateWindow)
    fps_out: RateWindow = field(default_factory=RateWindow)
    latency: LatencyWindow = field(default_factory=LatencyWindow)
    stages: dict[str, float] = field(default_factory=dict)  # summed seconds per stage
    results: int = 0

    def offered(self, models: Sequence[str]) -> None:
        now = time.monotonic()
        with self.lock:
            self.fps_in.mark(now)
            for m in models:
                self.routes[m].offered += 1

    def settled(self) -> bool:
        """Every frame offered is inferred, dropped or failed: none is inside a worker."""
        with self.lock:
            return all(r.offered == r.inferred + r.dropped + r.errors for r in self.routes.values())

    def dropped(self, model: str, n: int) -> None:
        with self.lock:
            self.routes[model].dropped += n

    def failed(self, model: str, n: int) -> None:
        with self.lock:
            self.routes[model].errors += n

    def inferred(self, model: str, latency: dict[str, float], hosted: bool = False) -> None:
        now = time.monotonic()
        with self.lock:
            self.routes[model].inferred += 1
            self.routes[model].hosted += int(hosted)
            self.results += 1
            self.fps_out.mark(now)
            self.latency.add(sum(latency.values()))
            for k, v in latency.items():
                self.stages[k] = self.stages.get(k, 0.0) + v


@dataclass(frozen=True)
class StreamHealth(StreamStats):
    """:class:`StreamStats` plus what the stats topic also reports about a stream.

    ``dropped`` counts (frame, model) pairs that were not inferred, errors included, so that
    ``frames_read * len(models) == inferred + dropped + queued + in_flight`` at any moment.
    ``fps_out`` is results per second divided by the stream's model count.
    """

    uri: str = ""
    frames_read: int = 0
    inferred: int = 0
    hosted: int = 0  # of ``inferred``, answered by the hosted API
    errors: int = 0
    reconnects: int = 0
    gap_seconds: float = 0.0
    gap_frames: int = 0
    width: int | None = None
    height: int | None = None
    source_fps: float | None = None
    error: str | None = None
    routes: dict[str, dict[str, int]] = field(default_factory=dict)
    waiting_for: list[str] = field(default_factory=list)  # its models that are not ready yet
