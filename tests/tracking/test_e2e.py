"""Tracking end to end: `edge run` on clips with known crossings, a real mosquitto, the fixture
detector. A first run with the broker down is SIGKILLed once its events are spooled; a second
run on another clip with the broker up must deliver every event of both, with ids and counts
continuing, and leave the retained counters equal to the ground truth."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from edge.publish.records import MAGIC, decode_record
from tests.daemon.edge_proc import EdgeRun, write_config
from tests.helpers import FIXTURE_MODELS
from tests.mqtt_broker import Broker, Subscriber
from tests.tracking.crossing_clip import Path2, write

EVENTS = "edge/dev1/door/events"
PREDICTIONS = "edge/dev1/door/detect/predictions"
COUNTERS = "edge/dev1/door/+/+/+"
# Line "mid" across the middle, drawn left to right: moving down is "in". Zone "park" around the
# parked triangle, bottom centre of the frame.
TRACKING = {
    "tracking": {"model": "detect"},
    "lines": {"mid": {"points": [[0.0, 0.5], [1.0, 0.5]], "classes": ["circle", "square"]}},
    "zones": {"park": {"polygon": [[0.35, 0.6], [0.65, 0.6], [0.65, 1.0], [0.35, 1.0]], "classes": ["triangle"]}},
}
PARKED = Path2("triangle", (160, 200), (0, 0))
# Clip A: a circle walks down across the line (in), a square up (out), both leave by 2.6 s.
CLIP_A = [Path2("circle", (80, 30), (0, 80), 0, 3.0), Path2("square", (240, 215), (0, -80), 0, 3.0), PARKED]
# Clip B: another circle walks down (in).
CLIP_B = [Path2("circle", (80, 30), (0, 80), 0, 3.0), PARKED]
# What each run must emit (type, class, detail), whatever else the detector's noise adds.
MUST_A = {
    ("line.cross", "circle", "in"): 1,
    ("line.cross", "square", "out"): 1,
    ("zone.enter", "triangle", "park"): 1,
    ("track.end", "circle", "lost"): 1,
    ("track.end", "square", "lost"): 1,
}
MUST_B = {("line.cross", "circle", "in"): 1, ("zone.enter", "triangle", "park"): 1}


def key(e: dict[str, Any]) -> tuple[str, str, str]:
    detail = e.get("direction") or e.get("zone") or e.get("reason") or ""
    return (e["type"], e["class"], str(detail))


def spooled_events(spool: Path) -> list[dict[str, Any]]:
    """The event records in the spool's segment files, read as the next start will."""
    out = []
    for seg in sorted(spool.glob("*.seg")):
        data = seg.read_bytes()
        pos = len(MAGIC)
        while (decoded := decode_record(data, pos)) is not None:
            record, pos = decoded
            if record.topic == EVENTS:
                out.append(json.loads(record.payload))
    return out


def must_hold(events: list[dict[str, Any]], must: dict[tuple[str, str, str], int]) -> bool:
    got = Counter(key(e) for e in events)
    return all(got[k] == n for k, n in must.items())


def test_counts_match_the_clips_and_a_kill_during_an_outage_loses_no_event(tmp_path: Path) -> None:
    a = write(tmp_path / "a.mp4", CLIP_A, seconds=7.0)
    b = write(tmp_path / "b.mp4", CLIP_B, seconds=4.0)
    state = tmp_path / "state"
    broker = Broker(tmp_path / "broker")  # not started: the first run spools everything
    models = {"detect": FIXTURE_MODELS / "shapes-detect.onnx"}
    cfg_a = write_config(
        tmp_path / "a.yaml", {"door": {"uri": str(a), "models": ["detect"], **TRACKING}}, models, broker.port, state
    )
    cfg_b = write_config(
        tmp_path / "b.yaml", {"door": {"uri": str(b), "models": ["detect"], **TRACKING}}, models, broker.port, state
    )
    try:
        with EdgeRun(cfg_a, tmp_path / "a.log") as run:
            deadline = time.monotonic() + 40
            while not must_hold(spooled_events(state / "spool"), MUST_A):
                assert run.proc.poll() is None, f"edge ended before its events were spooled:\n{run.stderr()[-3000:]}"
                assert time.monotonic() < deadline, f"events spooled: {spooled_events(state / 'spool')}"
                time.sleep(0.1)
            assert run.proc.poll() is None, "the clip ended before the kill; make it longer"
            run.close()  # SIGKILL
        first = spooled_events(state / "spool")
        assert must_hold(first, MUST_A), first
        saved = json.loads((state / "tracking" / "door.json").read_text())
        assert saved["lines"]["mid"]["circle"]["in"] == 1 and saved["lines"]["mid"]["square"]["out"] == 1

        broker.start()
        with Subscriber(broker.port, [EVENTS, PREDICTIONS]).start() as sub:
            with EdgeRun(cfg_b, tmp_path / "b.log") as run:
                assert run.wait(60) == 0, run.stderr()[-3000:]
            sub.wait_for(lambda msgs: len(msgs) >= len(first), timeout=20, what="the first run's events")
            time.sleep(0.5)
            received = [m.json() for m in sub.messages if m.topic == EVENTS]
            results = [m.json() for m in sub.messages if m.topic == PREDICTIONS]
        ids = {p["tracker_id"] for r in results for p in r["predictions"] if "tracker_id" in p}
        assert ids and all(isinstance(i, int) for i in ids)  # published predictions carry their track's id
        lost = Counter(json.dumps(e, sort_keys=True) for e in first) - Counter(
            json.dumps(e, sort_keys=True) for e in received
        )
        assert not lost, f"events of the killed run never arrived: {list(lost)}"
        second = received[len(first) :]  # the spool sends the first run's before the second's
        assert must_hold(second, MUST_B), second
        assert min(e["tracker_id"] for e in second) > max(e["tracker_id"] for e in first)  # ids continue

        with Subscriber(broker.port, [COUNTERS]).start() as late:
            late.wait_for(lambda msgs: len(msgs) >= 4, what="the retained counters")
            time.sleep(0.3)
            counters = {m.topic.removeprefix("edge/dev1/door/"): m.json() for m in late.messages if m.retain}
        assert counters == {
            "lines/mid/circle": {"in": 2, "out": 0},
            "lines/mid/square": {"in": 0, "out": 1},
            "zones/park/triangle": 1,
            "zones/park/all": 1,
        }
    finally:
        broker.close()
