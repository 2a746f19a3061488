"""The sink's timing on a fake clock, stepped by hand: announce, snapshot rate, state rate."""

from __future__ import annotations

import numpy as np

from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.discovery import StreamEntities
from edge.homeassistant.sink import HomeAssistantSink
from edge.messages import ResultMessage, ResultSource
from edge.pipeline.latest import LatestFrames
from edge.publish.topics import Topics
from edge.sources import Frame


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bool]] = []

    def send(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self.sent.append((topic, payload, retain))

    def take(self, suffix: str) -> list[bytes]:
        out = [p for t, p, _ in self.sent if t.endswith(suffix)]
        self.sent = [s for s in self.sent if not s[0].endswith(suffix)]
        return out


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def setup(**cfg: float) -> tuple[HomeAssistantSink, Recorder, Clock, LatestFrames]:
    rec, clock, latest = Recorder(), Clock(), LatestFrames()
    config = HomeAssistantConfig(announce_delay=0.0, clear_after=0.0, **cfg)  # type: ignore[arg-type]
    streams = [StreamEntities("door", ("person",))]
    sink = HomeAssistantSink(config, rec, Topics("edge", "d"), streams, lambda: latest, clock=clock, start=False)
    return sink, rec, clock, latest


def show(sink: HomeAssistantSink, latest: LatestFrames, frame: int, people: int) -> None:
    latest.offer(Frame("door", frame, 0.0, np.zeros((32, 32, 3), np.uint8), 0.0, 0.0), ("det",))
    pred = {"x": 5.0, "y": 5.0, "width": 4.0, "height": 4.0, "class": "person", "confidence": 0.9}
    v1 = {"image": {}, "predictions": [pred] * people}
    message = ResultMessage("door", "det", frame, 0.0, ResultSource.LOCAL, v1)
    latest.result(message)
    sink.publish(message)


def test_discovery_goes_out_on_connect_and_again_on_home_assistants_birth_message() -> None:
    sink, rec, _clock, _ = setup()
    sink.step()
    assert rec.take("/config") == []  # not connected yet (states may go: the MQTT sink drops them)
    rec.sent.clear()
    sink.connected()
    sink.step()
    assert len(rec.take("/config")) == 2 and rec.take("/door/available") == [b"online"]
    assert len(rec.take("/door/state")) == 1
    sink.message("homeassistant/status", b"offline")
    sink.step()
    assert rec.take("/config") == []
    sink.message("homeassistant/status", b"online")
    sink.step()
    assert len(rec.take("/config")) == 2 and len(rec.take("/door/state")) == 1  # the state again as well


def test_snapshots_when_a_class_appears_at_most_every_min_interval() -> None:
    sink, rec, clock, latest = setup(snapshot_min_interval=10.0)
    sink.connected()
    times = []
    for tick in range(300):  # 30 s at 10 steps a second; a person comes and goes every second
        clock.now = tick / 10
        show(sink, latest, tick, 1 if (tick // 10) % 2 == 0 else 0)
        sink.step()
        if rec.take("/door/snapshot"):
            times.append(clock.now)
    assert times == [0.0, 10.0, 20.0]  # every appearance wanted one; the interval allowed three


def test_state_changes_go_out_at_most_once_per_min_interval() -> None:
    sink, rec, clock, latest = setup(state_min_interval=1.0)
    sink.connected()
    sent = 0
    for tick in range(50):  # 5 s, the count changing every step
        clock.now = tick / 10
        show(sink, latest, tick, tick % 3)
        sink.step()
        sent += len(rec.take("/door/state"))
    assert sent == 5
