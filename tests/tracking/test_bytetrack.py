from __future__ import annotations

import numpy as np
import pytest

from edge.tracking.bytetrack import ByteTracker, TrackerConfig
from edge.tracking.detections import Detections
from tests.tracking.world import Mover, frame_times, run


def test_unconfirmed_detections_are_kept_with_minus_one() -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=3))
    dets = Detections(np.array([[10, 10, 50, 70.0]]), np.array([0]), np.array([0.9]))
    assert tracker.update(dets, 0.0).tracker_id.tolist() == [-1]
    assert tracker.update(dets, 0.1).tracker_id.tolist() == [-1]
    out = tracker.update(dets, 0.2)
    assert out.tracker_id.tolist() == [1]
    assert [s.tracker_id for s in out.confirmed] == [1]


def test_undetected_for_half_a_second_keeps_its_id() -> None:
    mover = Mover(start=(50, 200), velocity=(120, 0), hidden=(1.0, 1.5))
    ids = run(ByteTracker(TrackerConfig(lost_after=1.0)), [mover], frame_times(3.0, 15))
    assert len(ids[0]) == 1


def test_undetected_longer_than_lost_after_ends_the_track_as_lost() -> None:
    ended: list[str] = []
    tracker = ByteTracker(TrackerConfig(lost_after=0.5))
    dets = Detections(np.array([[10, 10, 50, 70.0]]), np.array([0]), np.array([0.9]))
    for ts in (0.0, 0.1, 0.2):
        tracker.update(dets, ts)
    out = tracker.update(Detections.empty(), 0.8)
    ended += [e.reason for e in out.ended]
    assert ended == ["lost"]
    assert tracker.update(dets, 0.9).tracker_id.tolist() == [-1]  # a new, tentative track


def test_two_objects_crossing_paths_keep_their_ids() -> None:
    a = Mover(start=(100, 200), velocity=(150, 20), jitter=1.0)
    b = Mover(start=(500, 260), velocity=(-150, -20), jitter=1.0)
    ids = run(ByteTracker(), [a, b], frame_times(2.6, 20, drop=0.2, uneven=0.3, seed=3))
    assert len(ids[0]) == 1 and len(ids[1]) == 1
    assert ids[0] != ids[1]


def test_parked_object_and_passer_by_are_one_long_track_each() -> None:
    parked = Mover(start=(300, 300), velocity=(0, 0), size=(120, 80), jitter=1.5)
    passer = Mover(start=(0, 150), velocity=(100, 0), t0=2.0, t1=8.0)
    tracker = ByteTracker(TrackerConfig(stationary_s=2.0))
    ids = run(tracker, [parked, passer], frame_times(10.0, 10, drop=0.3, uneven=0.3, seed=5))
    assert len(ids[0]) == 1 and len(ids[1]) == 1
    by_id = {s.tracker_id: s for s in tracker.tracks}
    assert by_id[next(iter(ids[0]))].stationary
    assert by_id[next(iter(ids[0]))].duration_s > 9.5


def test_a_moving_object_is_not_stationary() -> None:
    tracker = ByteTracker(TrackerConfig(stationary_s=1.0))
    run(tracker, [Mover(start=(50, 200), velocity=(60, 0))], frame_times(3.0, 10))
    assert [s.stationary for s in tracker.tracks] == [False]


def test_restart_with_next_id_continues_ids_and_never_repeats() -> None:
    first = ByteTracker()
    ids_a = run(
        first, [Mover(start=(50, 100), velocity=(50, 0)), Mover(start=(50, 300), velocity=(50, 0))], frame_times(1, 10)
    )
    seen = set().union(*ids_a.values())
    second = ByteTracker(next_id=first.next_id)
    ids_b = run(second, [Mover(start=(50, 100), velocity=(50, 0))], frame_times(1, 10))
    new = set().union(*ids_b.values())
    assert new and not (new & seen)
    assert min(new) > max(seen)


def test_gap_ends_all_tracks_with_its_reason() -> None:
    tracker = ByteTracker()
    run(tracker, [Mover(start=(50, 100), velocity=(50, 0))], frame_times(1, 10))
    ended = tracker.gap(1.2, "gap")
    assert [(e.reason, e.summary.tracker_id) for e in ended] == [("gap", 1)]
    assert tracker.tracks == []


def test_strictly_class_aware_tracker_does_not_match_across_classes() -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=1, other_class_weight=0.0))
    box = np.array([[10, 10, 50, 70.0]])
    first = tracker.update(Detections(box, np.array([0]), np.array([0.9])), 0.0)
    second = tracker.update(Detections(box, np.array([1]), np.array([0.9])), 0.1)
    assert first.tracker_id[0] != second.tracker_id[0]


def test_low_score_detection_continues_a_confirmed_track() -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=1))
    box = np.array([[10, 10, 50, 70.0]])
    first = tracker.update(Detections(box, np.array([0]), np.array([0.9])), 0.0)
    second = tracker.update(Detections(box + 1, np.array([0]), np.array([0.3])), 0.1)
    assert second.tracker_id.tolist() == first.tracker_id.tolist()


def test_time_going_back_is_refused() -> None:
    tracker = ByteTracker()
    tracker.update(Detections.empty(), 1.0)
    with pytest.raises(ValueError, match="went back"):
        tracker.update(Detections.empty(), 0.5)


@pytest.mark.parametrize(
    ("xyxy", "cls", "conf", "message"),
    [
        ([[0, 0, 1, 1]], [0, 1], [0.5], "class ids"),
        ([[0, 0, 1, float("nan")]], [0], [0.5], "finite"),
        ([[5, 0, 1, 1]], [0], [0.5], "x2 >= x1"),
    ],
)
def test_detections_are_validated(xyxy: list[list[float]], cls: list[int], conf: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Detections(np.array(xyxy), np.array(cls), np.array(conf))


def test_a_flicker_never_consumes_an_id() -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=2))
    flicker = Detections(np.array([[300, 300, 340, 360.0]]), np.array([0]), np.array([0.9]))
    tracker.update(flicker, 0.0)
    tracker.update(Detections.empty(), 0.1)  # a tentative track dies on its first miss
    run(tracker, [Mover(start=(50, 100), velocity=(50, 0))], [0.2 + t for t in frame_times(1, 10)])
    assert [s.tracker_id for s in tracker.tracks] == [1]


def test_class_agnostic_tracker_keeps_the_majority_class() -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=1, class_aware=False))
    box = np.array([[10, 10, 50, 70.0]])
    ids = set()
    for i, cls in enumerate([2, 2, 5, 2]):
        ids.add(int(tracker.update(Detections(box, np.array([cls]), np.array([0.9])), i * 0.1).tracker_id[0]))
    assert ids == {1}
    assert [s.class_id for s in tracker.tracks] == [2]


@pytest.mark.parametrize(("weight", "continues"), [(0.0, False), (0.5, True)])
def test_other_class_weight_lets_a_class_flip_continue_a_track(weight: float, continues: bool) -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=1, other_class_weight=weight))
    box = np.array([[10, 10, 50, 70.0]])
    first = tracker.update(Detections(box, np.array([0]), np.array([0.9])), 0.0)
    flipped = tracker.update(Detections(box + 1, np.array([1]), np.array([0.9])), 0.1)
    assert bool(flipped.tracker_id[0] == first.tracker_id[0]) is continues


def test_a_same_class_box_wins_over_another_class_at_equal_overlap() -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=1, other_class_weight=0.5))
    box = np.array([[10, 10, 50, 70.0]])
    tracker.update(Detections(box, np.array([0]), np.array([0.9])), 0.0)
    both = tracker.update(Detections(np.concatenate([box, box]), np.array([1, 0]), np.array([0.9, 0.9])), 0.1)
    assert both.tracker_id.tolist()[1] == 1  # the class-0 box continues track 1


def test_majority_class_is_kept_per_track() -> None:
    tracker = ByteTracker(TrackerConfig(confirm_hits=1, other_class_weight=1.0))
    box = np.array([[10, 10, 50, 70.0]])
    for i, cls in enumerate([2, 2, 1, 2, 1]):
        tracker.update(Detections(box, np.array([cls]), np.array([0.9])), i * 0.1)
    assert [t.class_id for t in tracker.tracks] == [2]
    flipped = tracker.update(Detections(box, np.array([1]), np.array([0.9])), 0.6)
    assert flipped.track_class.tolist() == [2]  # counted as its track's class
