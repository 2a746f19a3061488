#!/usr/bin/env python3
"""Median thread-CPU ms of one `ByteTracker.update` at 20 and 100 objects, for whichever `edge`
is importable, so two versions can be compared in one run on a shared machine:

    git archive ce21d26 edge | tar -x -C /tmp/old_edge      # (mkdir /tmp/old_edge first)
    for i in 1 2 3; do
      PYTHONPATH=/tmp/old_edge python tools/tracker_update_cpu.py old
      PYTHONPATH=. python tools/tracker_update_cpu.py new
    done

Only the `ByteTracker(...)`, `update(dets, ts)` and `Detections(...)` calls are used, which every
version since the library landed has. The scene is edge/tracking/bench.py's.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from edge.tracking.bytetrack import ByteTracker
from edge.tracking.detections import Detections


def cpu_ms(objects: int, frames: int = 300, fps: float = 15.0, seed: int = 0) -> float:
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
        t0 = time.thread_time()
        tracker.update(dets, ts)
        samples.append(time.thread_time() - t0)
    return float(np.median(samples[10:])) * 1e3


if __name__ == "__main__":
    label = sys.argv[1] if len(sys.argv) > 1 else "edge"
    print(label, " ".join(f"{n} objects {cpu_ms(n):.2f} ms" for n in (20, 100)))
