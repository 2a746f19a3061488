"""StreamTracking's contract, case by case (the scenarios are in test_sequences.py)."""

from __future__ import annotations

import logging
import math
from types import MappingProxyType

import pytest

from edge.messages import ResultMessage, ResultSource
from edge.tracking.bytetrack import TrackerConfig
from edge.tracking.lines import LineConfig
from edge.tracking.reorder import ReorderBuffer
from edge.tracking.settings import TrackingSettings
from edge.tracking.state import TrackingState
from edge.tracking.stream import StreamTracking
from edge.tracking.zones import ZoneConfig
from tests.tracking.sequences import MODEL, STREAM, SeqFrame, drive, frames
from tests.tracking.world import Mover

LINE = LineConfig("door", ((0.05, 0.5), (0.95, 0.5)), classes=frozenset({"person", "car"}))
ZONE = ZoneConfig("porch", ((0.0, 0.6), (1.0, 0.6), (1.0, 1.0), (0.0, 1.0)), classes=frozenset({"person"}))
SETTINGS = TrackingSettings(
    MODEL, TrackerConfig(confirm_hits=2), MappingProxyType({"porch": ZONE}), MappingProxyType({"door": LINE})
)
WALKER = Mover(start=(100, 100), velocity=(0, 120), t1=4.0)  # person walking down through line and zone


def _msg(frame: int, ts: float, preds: list[dict[str, object]], model: str = MODEL) -> ResultMessage:
    return ResultMessage(
        STREAM, model, frame, ts, ResultSource.LOCAL, {"image": {"width": 640, "height": 480}, "predictions": preds}
    )


BOX = {"x": 100.0, "y": 100.0, "width": 40.0, "height": 60.0, "confidence": 0.9, "class": "person", "class_id": 0}


def test_only_confirmed_predictions_gain_a_tracker_id_and_none_is_dropped() -> None:
    tracking = StreamTracking(STREAM, TrackingSettings(MODEL, reorder_s=0.0))
    low = {**BOX, "x": 400.0, "confidence": 0.3}  # too weak to start a track
    out = [tracking.offer(_msg(i, i * 0.1, [BOX, low]), i * 0.1)[0] for i in range(4)]
    ids = [[p.get("tracker_id") for p in r.message.v1["predictions"]] for r in out]
    assert ids == [[None, None], [None, None], [1, None], [1, None]]  # confirm_hits=3 by default
    assert out[2].events[0].to_json()["type"] == "track.new"
    assert "tracker_id" not in BOX  # the caller's documents are not modified


def test_other_models_pass_through_untracked_and_counted() -> None:
    tracking = StreamTracking(STREAM, SETTINGS)
    msg = _msg(0, 0.0, [BOX], model="faces")
    [result] = tracking.offer(msg, 0.0)
    assert result.message is msg and result.events == () and dict(result.counters) == {}
    assert tracking.stats.untracked == 1 and tracking.stats.tracked == 0


def test_a_result_later_than_the_window_passes_through_untracked() -> None:
    tracking = StreamTracking(STREAM, TrackingSettings(MODEL, reorder_s=0.2))
    assert tracking.offer(_msg(1, 0.1, [BOX]), 0.15) == []  # waits for frame 0
    [released] = tracking.offer(_msg(3, 0.3, [BOX]), 0.4)  # frame 1 waited 0.25 s: goes; 3 waits for 2
    assert released.message.frame == 1 and tracking.stats.held == 1
    [late] = tracking.offer(_msg(0, 0.0, [BOX]), 0.45)
    assert late.message.frame == 0 and late.events == ()
    assert tracking.stats.late == 1
    assert tracking.flush(0.5) == []
    assert [r.message.frame for r in tracking.flush(math.inf)] == [3]


def test_frame_numbers_that_restart_after_a_reconnect_are_tracked() -> None:
    tracking = StreamTracking(STREAM, TrackingSettings(MODEL, reorder_s=0.0))
    for i in range(5):
        tracking.offer(_msg(i, i * 0.1, [BOX]), i * 0.1)
    [again] = tracking.offer(_msg(0, 0.6, [BOX]), 0.6)  # the stream counts from 0 again
    assert again.message.v1["predictions"][0].get("tracker_id") == 1
    assert tracking.stats.late == 0 and tracking.stats.tracked == 6


def test_events_carry_stream_model_and_source() -> None:
    tracking = StreamTracking("porch-cam", SETTINGS)
    seq = frames([WALKER], 4.5, fps=10)
    out = drive(tracking, seq, source=lambda f: ResultSource.HOSTED)
    docs = out.events
    assert {d["type"] for d in docs} >= {"track.new", "zone.enter", "line.cross"}
    assert all(d["stream"] == "porch-cam" and d["model"] == MODEL and d["source"] == "hosted" for d in docs)


def test_track_end_summarises_zones_visited_and_lines_crossed() -> None:
    tracking = StreamTracking(STREAM, SETTINGS)
    out = drive(tracking, frames([WALKER], 6.0, fps=10))
    [end] = out.of_type("track.end")
    assert end["reason"] == "lost" and end["class"] == "person"
    assert [c["line"] + ":" + c["direction"] for c in end["lines"]] == ["door:in"]  # type: ignore[union-attr]
    [visit] = end["zones"]  # type: ignore[misc]
    assert visit["zone"] == "porch" and visit["dwell_s"] > 0.3


def test_counters_report_only_what_a_frame_changed() -> None:
    tracking = StreamTracking(STREAM, SETTINGS)
    start = tracking.counters()
    assert start == {
        "zones/porch/person": 0,
        "zones/porch/all": 0,
        "lines/door/car": {"in": 0, "out": 0},
        "lines/door/person": {"in": 0, "out": 0},
    }
    out = drive(tracking, frames([WALKER], 6.0, fps=10))
    changes = [dict(r.counters) for r in out.results if r.counters]
    assert {"lines/door/person": {"in": 1, "out": 0}} in changes
    assert {"zones/porch/person": 1, "zones/porch/all": 1} in changes
    assert changes[-1] == {"zones/porch/person": 0, "zones/porch/all": 0}  # it left when its track ended


def test_reset_lines_zeroes_counts_and_returns_the_changes() -> None:
    state = TrackingState(next_id=7, lines={"door": {"person": {"in": 4, "out": 2}}})
    tracking = StreamTracking(STREAM, SETTINGS, state)
    assert tracking.counters()["lines/door/person"] == {"in": 4, "out": 2}
    assert tracking.reset_lines(["door"]) == {"lines/door/person": {"in": 0, "out": 0}}
    assert tracking.state() == TrackingState(next_id=7, lines={"door": {}})
    with pytest.raises(ValueError, match="no line 'side'"):
        tracking.reset_lines(["side"])


def test_daily_rollover_zeroes_lines_on_a_new_day_only() -> None:
    state = TrackingState(next_id=3, lines={"door": {"car": {"in": 1, "out": 0}}}, day="2026-12-01")
    tracking = StreamTracking(STREAM, SETTINGS, state)
    assert tracking.rollover("2026-12-01") == {}
    assert tracking.rollover("2026-12-02") == {"lines/door/car": {"in": 0, "out": 0}}
    assert tracking.state().day == "2026-12-02"


def test_a_reload_removing_a_zone_clears_its_counters() -> None:
    tracking = StreamTracking(STREAM, SETTINGS)
    changed = tracking.apply(TrackingSettings(MODEL, lines=MappingProxyType({"door": LINE})))
    assert changed == {"zones/porch/person": None, "zones/porch/all": None}


def test_unreadable_predictions_pass_through_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    tracking = StreamTracking(STREAM, TrackingSettings(MODEL, reorder_s=0.0))
    with caplog.at_level(logging.WARNING):
        for i in range(3):
            [r] = tracking.offer(_msg(i, i * 0.1, [{"x": 1.0}]), i * 0.1)
            assert r.events == ()
    assert len(caplog.records) == 1 and "not tracked" in caplog.records[0].getMessage()
    assert tracking.stats.untracked == 3


def test_stats_count_time_and_active_tracks() -> None:
    tracking = StreamTracking(STREAM, SETTINGS)
    drive(tracking, frames([WALKER], 2.0, fps=10), finish=False)
    stats = tracking.stats
    assert stats.tracked > 10 and stats.active_tracks == 1
    assert 0 < stats.update_s_mean < 0.1 and stats.update_s_last > 0


@pytest.mark.parametrize(
    ("pushes", "now", "released"),
    [
        ([(0, 0.0), (1, 0.0)], 0.0, [0, 1]),  # in order: at once
        ([(1, 0.0)], 0.1, []),  # waits for frame 0
        ([(1, 0.0)], 0.5, [1]),  # ... until it waited the window
        ([(2, 0.0), (1, 0.3)], 0.5, [1, 2]),  # frame 2 timed out: frame 1 goes before it
        ([(3, 0.0), (0, 0.1), (1, 0.2)], 0.2, [0, 1]),  # frame 2 still awaited
    ],
)
def test_reorder_buffer_releases_in_frame_order(
    pushes: list[tuple[int, float]], now: float, released: list[int]
) -> None:
    buf: ReorderBuffer[int] = ReorderBuffer(0.5)
    for frame, at in pushes:
        assert buf.push(frame, frame, at)
    assert buf.pop_ready(now) == released


def test_reorder_buffer_refuses_frames_already_released_or_held() -> None:
    buf: ReorderBuffer[int] = ReorderBuffer(0.5)
    buf.push(0, 0, 0.0)
    assert buf.pop_ready(0.0) == [0]
    assert not buf.push(0, 0, 0.1)
    assert buf.push(2, 2, 0.1) and not buf.push(2, 2, 0.2)


def test_a_class_flip_at_the_line_counts_as_the_track_class() -> None:
    seq = frames([WALKER], 4.5, fps=10)
    flipped = []
    for f in seq:  # the detector calls it a car while its feet cross the line
        preds = tuple({**p, "class": "car"} if 230 < p["y"] + 30 < 280 else p for p in f.predictions)  # type: ignore[operator]
        flipped.append(SeqFrame(f.frame, f.ts, preds, f.truth))
    assert any(p["class"] == "car" for f in flipped for p in f.predictions)
    tracking = StreamTracking(STREAM, SETTINGS)
    out = drive(tracking, flipped)
    assert tracking.state().lines == {"door": {"person": {"in": 1, "out": 0}}}
    assert len(out.ids_by_truth(flipped)[0]) == 1


def test_a_second_answer_for_a_held_frame_passes_through_untracked() -> None:
    tracking = StreamTracking(STREAM, TrackingSettings(MODEL, reorder_s=0.5))
    for i in range(3):
        tracking.offer(_msg(i, i * 0.1, [BOX]), i * 0.1)
    assert tracking.offer(_msg(4, 0.4, [BOX]), 0.4) == []  # held: frame 3 not here yet
    [twin] = tracking.offer(_msg(4, 0.4, [BOX]), 0.41)  # e.g. hosted and local both answered
    assert twin.events == () and tracking.stats.held == 1 and tracking.stats.late == 1
    assert [r.message.frame for r in tracking.flush(math.inf)] == [4]


def test_a_line_crossed_while_the_track_was_still_tentative_counts() -> None:
    # First seen 12 px above the line, across it 0.1 s later, confirmed on its third frame.
    fast = Mover(start=(320, 240 - 30 - 12), velocity=(0, 240), t1=0.6)
    settings = TrackingSettings(MODEL, TrackerConfig(confirm_hits=3), lines=MappingProxyType({"door": LINE}))
    tracking = StreamTracking(STREAM, settings)
    out = drive(tracking, frames([fast], 0.6, fps=10))
    assert tracking.state().lines == {"door": {"person": {"in": 1, "out": 0}}}
    [cross] = out.of_type("line.cross")
    assert cross["ts"] == pytest.approx(0.2)  # counted on confirmation
