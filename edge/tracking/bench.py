"""Cost of one tracker update at a given number of objects (`python -m edge.tracking.bench`)."""

from __future__ import annotations

import time

import numpy as np

from edge.tracking.bytetrack import ByteTracker
from edge.tracking.detections import Detections


def time_per_update(objects: int, frames: int = 300, fps: float = 15.0, seed: int = 0) -> float:
    """Median seconds per update for `objects` boxes drifting over a 1920x1080 frame."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 0], [1800, 1000], size=(objects, 2))
    velocity = rng.uniform(-60, 60, size=(objects, 2))
    tracker = ByteTracker()
    samples: list[float] = []
    for i in range(frames):
        ts = i / fps
        centre = start + velocity * ts + rng.normal(0, 1.0, size=(objects, 2))
        xyxy = np.concatenate([centre - 20, centre + 20], axis=1)
        dets = Detections(xyxy, np.zeros(objects, dtype=np.int64), rng.uniform(0.3, 1.0, objects))
        t0 = time.perf_counter()
        tracker.update(dets, ts)
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples[10:]))  # skip warm-up


def main() -> None:
    for n in (20, 100):
        print(f"{n:4d} objects: {time_per_update(n) * 1e3:.2f} ms per update")


if __name__ == "__main__":
    main()
