"""Per-model batch accounting: how many batches ran, their sizes and inference times.

Kept as cumulative histogram counts (fixed bucket bounds) so a metrics scrape can expose them
as they are, however long the daemon runs.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

# Seconds; a Jetson's model runs in a few ms to a few hundred.
INFER_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class BatchSnapshot:
    batches: int
    images: int
    last_batch: int
    infer_seconds_sum: float
    infer_buckets: tuple[int, ...]  # per bound of INFER_BUCKETS, not cumulative; last: above all bounds


class BatchStats:
    """Thread-safe; the worker's infer stage calls :meth:`observe` once per batch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches = self._images = self._last = 0
        self._sum = 0.0
        self._counts = [0] * (len(INFER_BUCKETS) + 1)

    def observe(self, images: int, infer_seconds: float) -> None:
        i = bisect.bisect_left(INFER_BUCKETS, infer_seconds)
        with self._lock:
            self._batches += 1
            self._images += images
            self._last = images
            self._sum += infer_seconds
            self._counts[i] += 1

    def snapshot(self) -> BatchSnapshot:
        with self._lock:
            return BatchSnapshot(self._batches, self._images, self._last, self._sum, tuple(self._counts))
