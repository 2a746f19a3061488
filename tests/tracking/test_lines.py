from __future__ import annotations

import numpy as np
import pytest

from edge.tracking.bytetrack import ByteTracker
from edge.tracking.detections import Detections
from edge.tracking.geometry import normalize_boxes
from edge.tracking.lines import Line, LineConfig
from tests.tracking.world import HEIGHT, WIDTH, Mover, frame_times, run

HORIZONTAL = LineConfig("door", ((0.1, 0.5), (0.9, 0.5)))


def _count(movers: list[Mover], times: list[float], line: Line) -> list[tuple[int, str]]:
    crossings: list[tuple[int, str]] = []

    def observe(ts: float, dets: Detections, ids: np.ndarray, truth: list[int]) -> None:
        boxes = normalize_boxes(dets.xyxy, WIDTH, HEIGHT)
        names = ["person" for _ in truth]
        for e in line.update(ts, ids.tolist(), boxes, names):
            crossings.append((e.tracker_id, e.fields["direction"]))

    run(ByteTracker(), movers, times, observe)
    return crossings


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crossings_both_ways_with_dropped_frames_and_uneven_times_are_exact(seed: int) -> None:
    movers = [
        Mover(start=(150, 60), velocity=(0, 90), t0=0.0, t1=4.5),  # down: in
        Mover(start=(320, 420), velocity=(0, -90), t0=0.5, t1=5.0),  # up: out
        Mover(start=(480, 40), velocity=(0, 100), t0=1.0, t1=5.0),  # down: in
    ]
    line = Line(HORIZONTAL)
    crossings = _count(movers, frame_times(5.0, 15, drop=0.3, uneven=0.4, seed=seed), line)
    assert line.totals() == {"person": {"in": 2, "out": 1}}
    assert len({tid for tid, _ in crossings}) == 3


def test_box_jittering_across_the_line_does_not_count() -> None:
    line = Line(HORIZONTAL)
    rng = np.random.default_rng(0)
    for i, ts in enumerate(frame_times(5.0, 15)):
        y = 0.5 + (0.008 if i % 2 else -0.008) + rng.normal(0, 0.001)  # within the band
        line.update(ts, [7], np.array([[0.4, y - 0.1, 0.45, y]]), ["person"])
    assert line.totals() == {}


def test_a_track_counts_once_per_direction() -> None:
    line = Line(HORIZONTAL)
    ys = [0.3, 0.7, 0.3, 0.7, 0.3]
    events = [
        e for i, y in enumerate(ys) for e in line.update(float(i), [3], np.array([[0.4, y - 0.1, 0.45, y]]), ["car"])
    ]
    assert [e.fields["direction"] for e in events] == ["in", "out"]
    assert line.totals() == {"car": {"in": 1, "out": 1}}


def test_unconfirmed_tracks_and_other_classes_never_count() -> None:
    line = Line(LineConfig("door", ((0.1, 0.5), (0.9, 0.5)), classes=frozenset({"car"})))
    for i, y in enumerate([0.3, 0.7]):
        line.update(float(i), [-1, 4], np.array([[0.4, y - 0.1, 0.45, y]] * 2), ["car", "person"])
    assert line.totals() == {}


def test_passing_beside_the_drawn_segment_does_not_count() -> None:
    line = Line(LineConfig("door", ((0.1, 0.5), (0.5, 0.5))))
    for i, y in enumerate([0.3, 0.7]):
        line.update(float(i), [1], np.array([[0.7, y - 0.1, 0.75, y]]), ["person"])
    assert line.totals() == {}


def test_a_skipped_frame_cannot_hide_a_crossing() -> None:
    line = Line(HORIZONTAL)
    for ts, y in [(0.0, 0.2), (2.0, 0.9)]:  # one observation each side, far apart
        line.update(ts, [1], np.array([[0.4, y - 0.1, 0.45, y]]), ["person"])
    assert line.totals() == {"person": {"in": 1, "out": 0}}
