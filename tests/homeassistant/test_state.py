from __future__ import annotations

import itertools

import pytest

from edge.homeassistant.state import StreamAggregate, Throttle, count_classes
from edge.messages import ResultMessage, ResultSource, StreamStats


def result(frame: int, classes: list[str], model: str = "det", source: ResultSource = ResultSource.LOCAL):
    preds = [{"x": 1.0, "y": 1.0, "width": 2.0, "height": 2.0, "class": c, "confidence": 0.9} for c in classes]
    v1 = {"image": {"width": 8, "height": 8}, "predictions": preds}
    return ResultMessage("door", model, frame, 1000.0 + frame, source, v1)


def test_counts_only_objects_with_boxes() -> None:
    v1 = {"predictions": [{"class": "a", "width": 1}, {"class": "a", "width": 1}, {"class": "b", "confidence": 1}]}
    assert count_classes(v1) == {"a": 2}
    assert count_classes({"predictions": {"a": {"confidence": 0.9}}}) == {}


def test_occupancy_holds_for_clear_after_then_clears() -> None:
    agg = StreamAggregate(("person", "car"), clear_after=2.0)
    agg.result(result(0, ["person", "person"]), now=10.0)
    s = agg.state(10.0)
    assert (dict(s.counts), dict(s.present), s.mode) == (
        {"person": 2, "car": 0},
        {"person": True, "car": False},
        "local",
    )
    agg.result(result(1, []), now=11.0)
    assert agg.state(11.5).present["person"] and agg.state(11.5).counts["person"] == 0
    assert not agg.state(12.1).present["person"]


def test_counts_add_up_across_models_and_any_hosted_answer_sets_the_mode() -> None:
    agg = StreamAggregate(("person",), clear_after=0.0)
    agg.result(result(0, ["person"]), now=0.0)
    agg.result(result(0, ["person"], model="other", source=ResultSource.HOSTED), now=0.0)
    s = agg.state(0.0)
    assert (s.counts["person"], s.mode) == (2, "hosted")


@pytest.mark.parametrize(
    ("state", "connected", "available"),
    [("running", True, True), ("reconnecting", False, True), ("failed", False, False)],
)
def test_connectivity_and_availability_follow_the_stream_state(state: str, connected: bool, available: bool) -> None:
    agg = StreamAggregate(("person",), clear_after=0.0)
    agg.stats(StreamStats(15.0, 14.96, 0, 0, 0.0234, 0.05, state))
    s = agg.state(0.0)
    assert (s.connected, s.available, s.fps, s.latency_ms) == (connected, available, 15.0, 23.4)


def test_a_new_frame_alone_is_no_change() -> None:
    agg = StreamAggregate(("person",), clear_after=0.0)
    agg.result(result(0, ["person"]), now=0.0)
    first = agg.state(0.0)
    agg.result(result(1, ["person"]), now=0.1)
    assert agg.state(0.1).key() == first.key() and agg.state(0.1).frame == 1


def test_throttle_on_change_at_most_once_a_second_and_at_least_once_a_minute() -> None:
    t = Throttle(1.0, 60.0)
    sent: list[float] = []
    key = 0
    clock = 0.0
    while clock < 200.0:  # the state changes every 0.1 s for 10 s, then stays
        if clock < 10.0:
            key += 1
        if t.due(key, clock):
            t.sent(key, clock)
            sent.append(clock)
        clock = round(clock + 0.1, 1)
    changing = [s for s in sent if s < 10.0]
    assert len(changing) == 10 and all(b - a >= 1.0 for a, b in itertools.pairwise(changing))
    steady = [s for s in sent if s >= 10.0]
    assert steady and all(b - a == pytest.approx(60.0) for a, b in itertools.pairwise(steady))
    assert steady[0] == pytest.approx(10.0)  # the last change (at 9.9) goes out once a second has passed
    t.reset()
    assert t.due(key, clock)
