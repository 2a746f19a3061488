"""Tracking counters reach the Home Assistant state: a zone's ``all`` occupancy, a line's
crossings summed over its classes, cleared counters dropped from the sum."""

from __future__ import annotations

import orjson

from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.discovery import StreamEntities
from edge.homeassistant.sink import HomeAssistantSink
from edge.publish.topics import Topics
from edge.tracking.output import TrackingOutput
from tests.homeassistant.test_sink_clock import Clock, Recorder


def _state(rec: Recorder) -> dict[str, object]:
    docs = rec.take("/door/state")
    assert docs, "no state was sent"
    out: dict[str, object] = orjson.loads(docs[-1])
    return out


def test_zone_and_line_counters_become_the_streams_state() -> None:
    rec, clock = Recorder(), Clock()
    streams = [StreamEntities("door", ("person", "car"), zones=("porch",), lines=("gate",))]
    sink = HomeAssistantSink(
        HomeAssistantConfig(announce_delay=0.0, clear_after=0.0),
        rec,
        Topics("edge", "d"),
        streams,
        None,
        clock=clock,
        start=False,
    )
    sink.connected()
    sink.step()
    rec.sent.clear()
    counters = {
        "zones/porch/person": 2,
        "zones/porch/all": 3,
        "lines/gate/person": {"in": 4, "out": 1},
        "lines/gate/car": {"in": 1, "out": 2},
    }
    sink.publish_tracking(TrackingOutput("door", "det", (), counters))
    clock.now += 2.0
    sink.step()
    state = _state(rec)
    assert state["zones"] == {"porch": {"count": 3}}
    assert state["lines"]["gate"] == {"in": 5, "out": 3}  # type: ignore[index]

    sink.publish_tracking(TrackingOutput("door", "det", (), {"lines/gate/car": None}))
    clock.now += 2.0
    sink.step()
    assert _state(rec)["lines"]["gate"] == {"in": 4, "out": 1}  # type: ignore[index]
