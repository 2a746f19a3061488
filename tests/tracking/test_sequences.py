"""Synthetic sequences with ground truth through StreamTracking, one test per scenario of issue 16."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from edge.messages import ResultSource
from edge.tracking.bytetrack import TrackerConfig
from edge.tracking.lines import LineConfig
from edge.tracking.settings import TrackingSettings
from edge.tracking.state import load
from edge.tracking.stream import StreamTracking
from edge.tracking.zones import ZoneConfig
from tests.tracking.sequences import MODEL, SeqFrame, drive, frames
from tests.tracking.world import Mover

DOOR = LineConfig("door", ((0.05, 0.5), (0.95, 0.5)))
PORCH = ZoneConfig("porch", ((0.0, 0.6), (1.0, 0.6), (1.0, 1.0), (0.0, 1.0)))

# Down across the horizontal line is "in", up is "out"; two classes.
CROSSERS = [
    Mover(start=(100, 60), velocity=(0, 90), t0=0.0, t1=4.5),  # person in
    Mover(start=(260, 420), velocity=(0, -90), t0=0.5, t1=5.0),  # person out
    Mover(start=(420, 40), velocity=(0, 100), t0=1.0, t1=5.0, class_id=1),  # car in
    Mover(start=(560, 430), velocity=(5, -95), t0=0.2, t1=4.8),  # person out
]
CROSSER_TOTALS = {"person": {"in": 1, "out": 2}, "car": {"in": 1, "out": 0}}


def settings(**kw: object) -> TrackingSettings:
    base: dict[str, object] = {
        "model": MODEL,
        "lines": MappingProxyType({"door": DOOR}),
        "zones": MappingProxyType({"porch": PORCH}),
    }
    base.update(kw)
    return TrackingSettings(**base)  # type: ignore[arg-type]


def line_counters(counters: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in counters.items() if k.startswith("lines/")}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_crossing_both_ways_with_30_percent_dropped_and_uneven_times_counts_exactly(seed: int) -> None:
    seq = frames(CROSSERS, 5.2, fps=15, drop=0.3, uneven=0.4, seed=seed)
    tracking = StreamTracking("door", settings())
    out = drive(tracking, seq)
    assert tracking.state().lines == {"door": CROSSER_TOTALS}
    assert len(out.of_type("line.cross")) == 4
    assert all(len(ids) == 1 for ids in out.ids_by_truth(seq).values())  # one id per object
    assert tracking.counters()["lines/door/person"] == {"in": 1, "out": 2}


def test_a_box_jittering_on_the_line_never_counts() -> None:
    # Its anchor (bottom centre) sits on the line, moving +-1.5 px: inside the 0.01 band (4.8 px).
    jitter = Mover(start=(320, 240 - 30), velocity=(0, 0), jitter=1.5)
    tracking = StreamTracking("door", settings())
    out = drive(tracking, frames([jitter], 10.0, fps=15, seed=7))
    assert out.of_type("line.cross") == []
    assert tracking.state().lines == {"door": {}}
    assert len(out.ids_by_truth(frames([jitter], 10.0, fps=15, seed=7))[0]) == 1


def test_an_object_undetected_for_half_a_second_keeps_its_id() -> None:
    mover = Mover(start=(40, 100), velocity=(120, 0), hidden=(1.0, 1.5))
    seq = frames([mover], 3.0, fps=15, uneven=0.2, seed=2)
    out = drive(StreamTracking("door", settings()), seq)
    assert len(out.ids_by_truth(seq)[0]) == 1
    assert len(out.of_type("track.new")) == 1 and out.of_type("track.end") == []


def test_two_objects_crossing_paths_keep_their_ids() -> None:
    a = Mover(start=(100, 200), velocity=(150, 20), jitter=1.0)
    b = Mover(start=(500, 260), velocity=(-150, -20), jitter=1.0)
    seq = frames([a, b], 2.6, fps=20, drop=0.2, uneven=0.3, seed=3)
    ids = drive(StreamTracking("door", settings()), seq).ids_by_truth(seq)
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1]


def test_a_parked_object_and_a_passer_by_are_one_long_track_each() -> None:
    parked = Mover(start=(300, 380), velocity=(0, 0), size=(120, 80), jitter=1.5, t1=9.0)
    passer = Mover(start=(0, 150), velocity=(100, 0), t0=2.0, t1=8.0)
    tracker = TrackerConfig(stationary_s=2.0)
    seq = frames([parked, passer], 10.0, fps=10, drop=0.3, uneven=0.3, seed=5)
    tracking = StreamTracking("door", settings(tracker=tracker))
    out = drive(tracking, seq)
    ids = out.ids_by_truth(seq)
    assert len(ids[0]) == 1 and len(ids[1]) == 1
    assert len(out.of_type("track.new")) == 2
    ends = {e["tracker_id"]: e for e in out.of_type("track.end")}
    parked_end, passer_end = ends[next(iter(ids[0]))], ends[next(iter(ids[1]))]
    assert parked_end["stationary"] is True and float(parked_end["duration_s"]) > 8.5  # type: ignore[arg-type]
    assert passer_end["stationary"] is False
    # The parked car stood in the porch zone: one visit, with its dwell, in its summary.
    [visit] = parked_end["zones"]  # type: ignore[misc]
    assert visit["zone"] == "porch" and visit["dwell_s"] > 8.0


def test_a_restart_in_the_middle_continues_counts_and_never_reuses_ids(tmp_path: Path) -> None:
    # Two waves of crossers with a quiet second between them; the restart falls in the quiet.
    wave1 = [Mover(start=(100, 60), velocity=(0, 150), t0=0.0, t1=3.0), Mover((400, 420), (0, -150), t0=0.0, t1=3.0)]
    wave2 = [Mover(start=(200, 60), velocity=(0, 150), t0=4.5, t1=7.5, class_id=1)]
    seq = frames(wave1 + wave2, 7.5, fps=15, drop=0.2, uneven=0.3, seed=11)
    first_half = [f for f in seq if f.ts < 4.0]
    second_half = [f for f in seq if f.ts >= 4.0]

    before = StreamTracking("door", settings())
    out1 = drive(before, first_half)
    path = tmp_path / "door.json"
    before.state().save(path)
    after = StreamTracking("door", settings(), load(path))
    out2 = drive(after, second_half)

    assert after.state().lines == {"door": {"person": {"in": 1, "out": 1}, "car": {"in": 1, "out": 0}}}
    ids1 = {e["tracker_id"] for e in out1.of_type("track.new")}
    ids2 = {e["tracker_id"] for e in out2.of_type("track.new")}
    assert ids1 and ids2 and min(ids2) > max(ids1)  # type: ignore[type-var]
    assert after.counters()["lines/door/person"] == {"in": 1, "out": 1}  # restored counts are published


def _hosted_every_third(f: SeqFrame) -> ResultSource:
    return ResultSource.HOSTED if f.frame % 3 == 1 else ResultSource.LOCAL


def test_hosted_answers_out_of_order_within_the_window_match_all_local() -> None:
    seq = frames(CROSSERS, 5.2, fps=15, drop=0.1, uneven=0.3, seed=8)
    local = StreamTracking("door", settings(reorder_s=0.5))
    all_local = drive(local, seq)
    mixed = StreamTracking("door", settings(reorder_s=0.5))

    def late_if_hosted(f: SeqFrame) -> float:  # hosted answers come back 0.35 s later
        return f.ts + (0.4 if _hosted_every_third(f) is ResultSource.HOSTED else 0.05)

    out = drive(mixed, seq, source=_hosted_every_third, arrival=late_if_hosted)
    assert [r.message.frame for r in out.results] == [f.frame for f in seq]  # capture order
    assert out.tracker_ids() == all_local.tracker_ids()
    assert mixed.state() == local.state()
    assert mixed.stats.late == 0 and mixed.stats.tracked == len(seq)
    assert {e["source"] for e in out.events} == {"local", "hosted"}
    strip = [{k: v for k, v in e.items() if k != "source"} for e in out.events]
    assert strip == [{k: v for k, v in e.items() if k != "source"} for e in all_local.events]


def test_a_track_continues_local_hosted_local_with_one_id() -> None:
    mover = Mover(start=(40, 100), velocity=(100, 0))
    seq = frames([mover], 3.0, fps=10, seed=1)

    def hosted_in_the_middle(f: SeqFrame) -> ResultSource:
        return ResultSource.HOSTED if 1.0 <= f.ts < 2.0 else ResultSource.LOCAL

    out = drive(StreamTracking("door", settings()), seq, source=hosted_in_the_middle)
    assert len(out.ids_by_truth(seq)[0]) == 1
    sources = {r.message.source for r in out.results if "tracker_id" in r.message.v1["predictions"][0]}
    assert sources == {ResultSource.LOCAL, ResultSource.HOSTED}


def test_max_gap_ends_tracks_with_a_reason() -> None:
    mover = Mover(start=(300, 400), velocity=(5, 0), size=(60, 60))  # stands in the porch
    seq = frames([mover], 3.0, fps=10, seed=1)
    tracking = StreamTracking("door", settings())
    out = drive(tracking, seq)
    events = [e.to_json() for e in tracking.gap(3.5, "gap")]
    assert [e["type"] for e in events] == ["zone.exit", "track.end"]
    assert events[1]["reason"] == "gap" and events[1]["stream"] == "door" and events[1]["model"] == MODEL
    assert tracking.pending_counters() == {"zones/porch/person": 0, "zones/porch/all": 0}
    assert tracking.stats.active_tracks == 0 and len(out.of_type("zone.enter")) == 1


def test_a_capture_time_jump_beyond_max_gap_ends_tracks_as_gap() -> None:
    mover = Mover(start=(300, 100), velocity=(5, 0))
    early = frames([mover], 2.0, fps=10, seed=1)
    late = [SeqFrame(f.frame + 1000, f.ts + 10.0, f.predictions, f.truth) for f in early]
    out = drive(StreamTracking("door", settings(max_gap=5.0)), early + late)
    ends = out.of_type("track.end")
    assert [e["reason"] for e in ends] == ["gap"]
    assert len(out.of_type("track.new")) == 2


def test_sighup_apply_keeps_the_counts_of_unchanged_lines() -> None:
    moved = LineConfig("exit", ((0.05, 0.4), (0.95, 0.4)))
    lines = MappingProxyType({"door": DOOR, "exit": LineConfig("exit", ((0.05, 0.3), (0.95, 0.3)))})
    tracking = StreamTracking("door", settings(lines=lines))
    seq = frames(CROSSERS, 5.2, fps=15, seed=2)
    first = drive(tracking, seq[: len(seq) // 2 + 10])
    before = tracking.state().lines
    assert before["door"] and before["exit"]
    changed = tracking.apply(settings(lines=MappingProxyType({"door": DOOR, "exit": moved})))
    assert tracking.state().lines == {"door": before["door"], "exit": {}}
    assert all(k.startswith("lines/exit/") for k in changed) and changed
    rest = drive(tracking, seq[len(seq) // 2 + 10 :])
    old_ids = {e["tracker_id"] for e in first.of_type("track.new")}
    new_ids = {e["tracker_id"] for e in rest.of_type("track.new")}
    assert not (old_ids & new_ids)
