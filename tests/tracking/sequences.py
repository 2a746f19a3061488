"""Deterministic synthetic result sequences with ground-truth ids, fed through StreamTracking.

Boxes move on straight lines (tests/tracking/world.Mover) and are sampled at uneven capture
times with random drops; dropped frames leave gaps in the frame numbers, as a live stream's do.
Each frame becomes a ResultMessage with a v1 document (centre-format predictions, in mover order)
so the whole path the daemon takes is exercised: parse, reorder, track, zones, lines, events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.messages import ResultMessage, ResultSource
from edge.tracking.stream import StreamTracking, TrackedResult
from tests.tracking.world import HEIGHT, WIDTH, Mover

CLASSES = ("person", "car", "dog")
STREAM, MODEL = "door", "people"


@dataclass(frozen=True)
class SeqFrame:
    frame: int  # capture sequence number
    ts: float  # capture time, seconds
    predictions: tuple[dict[str, object], ...]
    truth: tuple[int, ...]  # per prediction, the index of the mover it came from


def frames(
    movers: Sequence[Mover],
    duration: float,
    fps: float = 15.0,
    drop: float = 0.0,
    uneven: float = 0.0,
    seed: int = 0,
    confidence: float = 0.9,
) -> list[SeqFrame]:
    """Nominal `fps` for `duration` s, each period stretched by up to +-uneven, `drop` of the frames lost."""
    rng = np.random.default_rng(seed)
    out: list[SeqFrame] = []
    ts, number = 0.0, 0
    while ts <= duration:
        if rng.random() >= drop:
            preds, truth = [], []
            for i, m in enumerate(movers):
                box = m.box(ts, rng)
                if box is None:
                    continue
                x1, y1, x2, y2 = box.tolist()
                cls = CLASSES[m.class_id]
                preds.append(
                    {
                        "x": (x1 + x2) / 2,
                        "y": (y1 + y2) / 2,
                        "width": x2 - x1,
                        "height": y2 - y1,
                        "confidence": confidence,
                        "class": cls,
                        "class_id": m.class_id,
                    }
                )
                truth.append(i)
            out.append(SeqFrame(number, round(ts, 6), tuple(preds), tuple(truth)))
        ts += (1.0 / fps) * (1.0 + rng.uniform(-uneven, uneven))
        number += 1
    return out


def message(f: SeqFrame, source: ResultSource = ResultSource.LOCAL, model: str = MODEL) -> ResultMessage:
    v1 = {"image": {"width": int(WIDTH), "height": int(HEIGHT)}, "predictions": [dict(p) for p in f.predictions]}
    return ResultMessage(STREAM, model, f.frame, f.ts, source, v1)


@dataclass
class Outcome:
    results: list[TrackedResult] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, object]]:
        return [e.to_json() for r in self.results for e in r.events]

    def of_type(self, kind: str) -> list[dict[str, object]]:
        return [e for e in self.events if e["type"] == kind]

    def ids_by_truth(self, seq: Sequence[SeqFrame]) -> dict[int, set[int]]:
        """Per mover, the confirmed tracker ids its predictions were given."""
        by_frame = {f.frame: f for f in seq}
        ids: dict[int, set[int]] = {}
        for r in self.results:
            preds = r.message.v1["predictions"]
            truth = by_frame[r.message.frame].truth
            assert len(preds) == len(truth)  # nothing dropped
            for p, gt in zip(preds, truth):
                ids.setdefault(gt, set())
                if "tracker_id" in p:
                    ids[gt].add(p["tracker_id"])
        return ids

    def tracker_ids(self) -> list[list[int]]:
        return [[p.get("tracker_id", -1) for p in r.message.v1["predictions"]] for r in self.results]


Arrival = Callable[[SeqFrame], float]


def drive(
    tracking: StreamTracking,
    seq: Sequence[SeqFrame],
    source: Callable[[SeqFrame], ResultSource] = lambda f: ResultSource.LOCAL,
    arrival: Arrival = lambda f: f.ts + 0.05,
    finish: bool = True,
) -> Outcome:
    """Offers every frame at its arrival time (wall clock), in arrival order; flushes at the end."""
    outcome = Outcome()
    for f in sorted(seq, key=lambda f: (arrival(f), f.frame)):
        outcome.results += tracking.offer(message(f, source(f)), arrival(f))
    if finish:
        outcome.results += tracking.flush(math.inf)
    return outcome
