"""TrackingHub: the pipeline's tracking thread around the real StreamTracking."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from edge.messages import ResultMessage, ResultSource
from edge.sources import SourceState
from edge.tracking.bytetrack import TrackerConfig
from edge.tracking.hub import TrackingHub, state_path
from edge.tracking.lines import LineConfig
from edge.tracking.output import TrackingOutput
from edge.tracking.settings import TrackingSettings
from edge.tracking.state import TrackingState, load

STREAM, MODEL = "door", "det"
LINE = LineConfig("mid", ((0.0, 0.5), (1.0, 0.5)))
SETTINGS = TrackingSettings(
    MODEL, TrackerConfig(confirm_hits=2), lines=MappingProxyType({"mid": LINE}), reorder_s=0.0, max_gap=0.3
)


def walker(frame: int, model: str = MODEL, first: int = 0) -> ResultMessage:
    """A box walking down across the middle line from frame ``first``, 10 px a frame at 10 fps."""
    box = {"x": 320.0, "y": 150.0 + 10 * (frame - first), "width": 40.0, "height": 60.0, "confidence": 0.9}
    box.update({"class": "person", "class_id": 0})
    v1 = {"image": {"width": 640, "height": 480}, "predictions": [box]}
    return ResultMessage(STREAM, model, frame, 1000.0 + frame * 0.1, ResultSource.LOCAL, v1)


class Sinks:
    """What the hub hands on, in order, and what the state file held when each came."""

    def __init__(self, folder: Path | None = None) -> None:
        self.items: list[ResultMessage | TrackingOutput] = []
        self.saved_at_emit: list[TrackingState | None] = []
        self.folder = folder
        self.state = SourceState.RUNNING
        self.lock = threading.Lock()

    def publish(self, m: ResultMessage) -> None:
        with self.lock:
            self.items.append(m)

    def emit(self, o: TrackingOutput) -> None:
        with self.lock:
            self.items.append(o)
            self.saved_at_emit.append(load(state_path(self.folder, STREAM)) if self.folder else None)

    def events(self) -> list[dict[str, object]]:
        with self.lock:
            return [e for o in self.items if isinstance(o, TrackingOutput) for e in o.event_payloads()]

    def results(self) -> list[ResultMessage]:
        with self.lock:
            return [m for m in self.items if isinstance(m, ResultMessage)]


def make(folder: Path | None, sinks: Sinks, settings: TrackingSettings = SETTINGS, **kw: Any) -> TrackingHub:
    hub = TrackingHub({STREAM: settings}, folder, tick=0.02, **kw)
    hub.bind(sinks.publish, sinks.emit, lambda s: sinks.state)
    hub.start()
    return hub


def wait_for(cond: object, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_results_gain_ids_events_follow_and_nothing_is_dropped(tmp_path: Path) -> None:
    sinks = Sinks(tmp_path)
    hub = make(tmp_path, sinks, save_every=0.0)
    for i in range(20):
        hub.publish(walker(i))
    hub.publish(walker(0, model="other"))  # another model: straight through
    assert hub.close()
    results = sinks.results()
    assert sorted(m.frame for m in results if m.model == MODEL) == list(range(20))
    assert [m.frame for m in results if m.model == MODEL] == list(range(20))  # capture order
    assert results[-1].v1["predictions"][0]["tracker_id"] == 1
    types = [e["type"] for e in sinks.events()]
    assert types == ["track.new", "line.cross"]
    assert all(e["stream"] == STREAM and e["model"] == MODEL for e in sinks.events())
    saved = load(state_path(tmp_path, STREAM))
    assert saved is not None and saved.next_id == 2 and saved.lines["mid"]["person"] == {"in": 1, "out": 0}


def test_what_changes_the_state_is_published_only_once_it_is_saved(tmp_path: Path) -> None:
    sinks = Sinks(tmp_path)
    hub = make(tmp_path, sinks, save_every=0.3)
    for i in range(20):
        hub.publish(walker(i))
        time.sleep(0.01)
    assert hub.close()
    for out, saved in zip([o for o in sinks.items if isinstance(o, TrackingOutput)], sinks.saved_at_emit):
        for e in out.events:
            if e.type == "track.new":
                assert saved is not None and saved.next_id > e.tracker_id
            if e.type == "line.cross":
                assert saved is not None and saved.lines["mid"]["person"]["in"] >= 1


def test_counts_and_ids_continue_after_a_restart(tmp_path: Path) -> None:
    first = Sinks(tmp_path)
    hub = make(tmp_path, first, save_every=0.0)
    for i in range(20):
        hub.publish(walker(i))
    hub.close()
    second = Sinks(tmp_path)
    hub = make(tmp_path, second, save_every=0.0)
    start = next(o for o in second.items if isinstance(o, TrackingOutput))
    assert start.counters["lines/mid/person"] == {"in": 1, "out": 0}  # every retained value, at start
    for i in range(20):
        hub.publish(walker(i + 100, first=100))
    hub.close()
    assert [e["tracker_id"] for e in second.events() if e["type"] == "track.new"] == [2]
    assert load(state_path(tmp_path, STREAM)).lines["mid"]["person"] == {"in": 2, "out": 0}  # type: ignore[union-attr]


def test_a_stream_reconnecting_past_max_gap_ends_its_tracks_once(tmp_path: Path) -> None:
    sinks = Sinks()
    hub = make(None, sinks)
    for i in range(5):
        hub.publish(walker(i))
    wait_for(lambda: len(sinks.results()) == 5)
    sinks.state = SourceState.RECONNECTING
    wait_for(lambda: any(e["type"] == "track.end" for e in sinks.events()))
    time.sleep(0.4)  # longer than max_gap again: still one end
    hub.close()
    ends = [e for e in sinks.events() if e["type"] == "track.end"]
    assert len(ends) == 1 and ends[0]["reason"] == "gap"


def test_a_reload_keeps_unchanged_lines_counts(tmp_path: Path) -> None:
    sinks = Sinks()
    hub = make(None, sinks)
    for i in range(20):
        hub.publish(walker(i))
    wait_for(lambda: len(sinks.results()) == 20)
    other = LineConfig("top", ((0.0, 0.1), (1.0, 0.1)))
    lines = MappingProxyType({"mid": LINE, "top": other})
    hub.configure(STREAM, TrackingSettings(MODEL, SETTINGS.tracker, lines=lines, reorder_s=0.0))
    hub.close()
    changed = [o.counters for o in sinks.items if isinstance(o, TrackingOutput)][-1]
    assert "lines/mid/person" not in changed or changed["lines/mid/person"] == {"in": 1, "out": 0}
    assert "lines/top/person" in changed


def test_a_result_the_tracker_refuses_is_published_untracked(tmp_path: Path) -> None:
    sinks = Sinks()
    hub = make(None, sinks)
    bad = walker(0)
    bad.v1["predictions"] = "not a list"
    hub.publish(bad)
    hub.publish(walker(1))
    hub.close()
    assert sorted(m.frame for m in sinks.results()) == [0, 1]


def test_stats_name_the_tracker_time_and_active_tracks(tmp_path: Path) -> None:
    sinks = Sinks()
    hub = make(None, sinks)
    for i in range(5):
        hub.publish(walker(i))
    wait_for(lambda: len(sinks.results()) == 5)
    stats = hub.stats()[STREAM]
    hub.close()
    assert stats["active_tracks"] == 1 and stats["tracked"] == 5
    assert isinstance(stats["update_s_mean"], float) and stats["update_s_mean"] > 0
    json.dumps(stats)


def test_daily_reset_zeroes_line_counts_on_a_new_local_day(tmp_path: Path) -> None:
    day = time.strftime("%Y-%m-%d", time.localtime(1000.0))
    TrackingState(next_id=5, lines={"mid": {"person": {"in": 4, "out": 2}}}, day="1969-01-01").save(
        state_path(tmp_path, STREAM)
    )
    sinks = Sinks(tmp_path)
    settings = TrackingSettings(MODEL, SETTINGS.tracker, lines=SETTINGS.lines, reorder_s=0.0, daily_reset=True)
    hub = make(tmp_path, sinks, settings, clock=lambda: 1000.0)
    wait_for(lambda: any(o.counters.get("lines/mid/person") == {"in": 0, "out": 0} for o in sinks.items[1:]))  # type: ignore[union-attr]
    hub.close()
    first = sinks.items[0]
    assert isinstance(first, TrackingOutput) and first.counters["lines/mid/person"] == {"in": 4, "out": 2}
    saved = load(state_path(tmp_path, STREAM))
    assert (
        saved is not None and saved.day == day and saved.lines.get("mid", {}) in ({}, {"person": {"in": 0, "out": 0}})
    )
    assert saved.next_id == 5  # ids never start again


def test_pictures_of_a_tracked_stream_show_its_zones_and_lines() -> None:
    import cv2
    import numpy as np

    from edge.pipeline.latest import LatestFrames
    from edge.sources.source import Frame
    from edge.tracking.draw import ZONE_COLOUR
    from edge.tracking.zones import ZoneConfig
    from edge.web.params import PictureParams
    from edge.web.picture import render_jpeg

    zone = ZoneConfig("z", ((0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0)))
    settings = TrackingSettings(MODEL, zones=MappingProxyType({"z": zone}), reorder_s=0.0)
    hub = make(None, Sinks(), settings)
    latest = LatestFrames()
    latest.underlay = hub.underlay
    latest.offer(Frame(STREAM, 0, 1.0, np.zeros((100, 200, 3), np.uint8), 0.0, 0.0), (MODEL,))
    latest.result(ResultMessage(STREAM, MODEL, 0, 1.0, ResultSource.LOCAL, {"image": {}, "predictions": []}))
    held = latest.get(STREAM)
    hub.close()
    assert held is not None and held.underlay is not None
    picture = cv2.imdecode(np.frombuffer(render_jpeg(held, PictureParams(quality=100)), np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(picture[99, 100].astype(int) - ZONE_COLOUR).max() < 40  # the zone's edge at x = 0.5
    assert picture[20, 20].max() < 20  # outside: as it was
    assert hub.underlay("other") is None


def test_republish_sends_every_retained_value_again() -> None:
    sinks = Sinks()
    hub = make(None, sinks)
    for i in range(20):
        hub.publish(walker(i))
    wait_for(lambda: len(sinks.results()) == 20)
    hub.republish()
    wait_for(lambda: sum(isinstance(o, TrackingOutput) and not o.events for o in sinks.items) >= 2)
    hub.close()
    last = [o for o in sinks.items if isinstance(o, TrackingOutput) and not o.events][-1]
    assert last.counters["lines/mid/person"] == {"in": 1, "out": 0}
