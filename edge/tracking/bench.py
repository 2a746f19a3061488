"""Cost of tracking at a given number of objects (`python -m edge.tracking.bench`, and `edge bench`).

Two figures: one `ByteTracker.update` (the tracker alone), and one frame through
`StreamTracking` (v1 predictions parsed, tracker, one zone and one line, events and counters),
which is what the daemon pays per result of a tracked model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from edge.messages import ResultMessage, ResultSource
from edge.tracking.bytetrack import ByteTracker
from edge.tracking.detections import Detections
from edge.tracking.lines import LineConfig
from edge.tracking.settings import TrackingSettings
from edge.tracking.stream import StreamTracking
from edge.tracking.zones import ZoneConfig

WIDTH, HEIGHT = 1920, 1080
TARGETS_MS = {20: 1.0, 100: 3.0}  # issue 16: tracker cost per frame at 20 and 100 objects
BENCH_FRAMES = 300  # frames per measurement in `edge bench` (10 of them warm-up)


def _scene(
    objects: int, frames: int, fps: float, seed: int
) -> Iterator[tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """(ts, xyxy, scores) per frame: boxes drifting over a 1920x1080 frame, mixed scores."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 0], [1800, 1000], size=(objects, 2))
    velocity = rng.uniform(-60, 60, size=(objects, 2))
    for i in range(frames):
        ts = i / fps
        centre = np.clip(start + velocity * ts + rng.normal(0, 1.0, size=(objects, 2)), 20, [WIDTH - 20, HEIGHT - 20])
        yield ts, np.concatenate([centre - 20, centre + 20], axis=1), rng.uniform(0.3, 1.0, objects)


@dataclass(frozen=True)
class TrackingCost:
    """Median milliseconds at `objects` boxes: wall clock, and the thread's CPU time (steadier on
    a shared machine: time spent waiting for a core is not counted)."""

    objects: int
    update_ms: float  # one ByteTracker.update
    update_cpu_ms: float
    frame_ms: float  # one result through StreamTracking with a zone and a line
    frame_cpu_ms: float

    @property
    def target_ms(self) -> float | None:
        return TARGETS_MS.get(self.objects)


class _Timer:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> None:
        self._t0, self._c0 = time.perf_counter(), time.thread_time()

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._t0)
        self.cpu.append(time.thread_time() - self._c0)

    def medians_ms(self, skip: int = 10) -> tuple[float, float]:  # skip the warm-up
        return float(np.median(self.wall[skip:])) * 1e3, float(np.median(self.cpu[skip:])) * 1e3


def _time_updates(objects: int, frames: int, fps: float, seed: int) -> _Timer:
    tracker, timer = ByteTracker(), _Timer()
    for ts, xyxy, scores in _scene(objects, frames, fps, seed):
        dets = Detections(xyxy, np.zeros(objects, dtype=np.int64), scores)
        with timer:
            tracker.update(dets, ts)
    return timer


def _time_frames(objects: int, frames: int, fps: float, seed: int) -> _Timer:
    zone = ZoneConfig("half", ((0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)))
    line = LineConfig("middle", ((0.5, 0.0), (0.5, 1.0)))
    settings = TrackingSettings(
        "bench", zones=MappingProxyType({"half": zone}), lines=MappingProxyType({"middle": line})
    )
    tracking, timer = StreamTracking("bench", settings), _Timer()
    for i, (ts, xyxy, scores) in enumerate(_scene(objects, frames, fps, seed)):
        cx, cy = (xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2
        preds = [
            {"x": x, "y": y, "width": 40.0, "height": 40.0, "confidence": c, "class": "person", "class_id": 0}
            for x, y, c in zip(cx.tolist(), cy.tolist(), scores.tolist())
        ]
        v1 = {"image": {"width": WIDTH, "height": HEIGHT}, "predictions": preds}
        msg = ResultMessage("bench", "bench", i, ts, ResultSource.LOCAL, v1)
        with timer:
            tracking.offer(msg, ts)  # frames arrive in order: released at once
    return timer


def measure(objects: int, frames: int = 300, fps: float = 15.0, seed: int = 0) -> TrackingCost:
    update = _time_updates(objects, frames, fps, seed).medians_ms()
    frame = _time_frames(objects, frames, fps, seed).medians_ms()
    return TrackingCost(objects, update[0], update[1], frame[0], frame[1])


def time_per_update(objects: int, frames: int = 300, fps: float = 15.0, seed: int = 0) -> float:
    """Median wall seconds per `ByteTracker.update`."""
    return _time_updates(objects, frames, fps, seed).medians_ms()[0] / 1e3


def format_costs(costs: list[TrackingCost]) -> str:
    lines = [
        "tracker cost per frame (edge/tracking/bench.py; median ms, wall / thread CPU):",
        f"  {'objects':>7} {'tracker update':>16} {'frame, zone+line':>18} {'target':>7}",
    ]
    for c in costs:
        target = f"{c.target_ms:.0f} ms" if c.target_ms is not None else ""
        # Judged on CPU time: on a shared machine the wall clock also counts waiting for a core.
        verdict = "" if c.target_ms is None else " ok" if c.update_cpu_ms <= c.target_ms else " OVER"
        update = f"{c.update_ms:.2f} / {c.update_cpu_ms:.2f}"
        frame = f"{c.frame_ms:.2f} / {c.frame_cpu_ms:.2f}"
        lines.append(f"  {c.objects:>7} {update:>16} {frame:>18} {target:>7}{verdict}")
    return "\n".join(lines)


def tracking_section() -> str:
    """The part of `edge bench`'s report on tracking: cost per frame at 20 and 100 objects."""
    return format_costs([measure(n, frames=BENCH_FRAMES) for n in TARGETS_MS])


def main() -> None:
    print(tracking_section())


if __name__ == "__main__":
    main()
