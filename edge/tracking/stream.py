"""One stream's tracking service: results in (local or hosted, any order), tracked results out.

`StreamTracking.offer` takes every result of a stream. Results of the tracked model wait in a
short reorder window (hosted answers come back late) and are then tracked in capture order, so
local and hosted answers of one stream feed one tracker and a track keeps its id across
local -> hosted -> local. Each released result carries its message with "tracker_id" on the
predictions of confirmed tracks (nothing dropped), this frame's events (stamped with stream,
model and source) and the retained counters this frame changed. Time is the capture time in
seconds throughout; `now` (wall clock) only drives the reorder window.

The daemon wiring (MQTT topics, spool, persistence timing, SIGHUP) lives elsewhere; this class
is synchronous and not thread-safe: one caller per stream.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from edge.messages import ResultMessage
from edge.tracking.bytetrack import ByteTracker, TrackerUpdate
from edge.tracking.counters import Published, line_values, zone_values
from edge.tracking.events import Event, track_end, track_new
from edge.tracking.feed import Frame, frame_from_v1, with_tracker_ids
from edge.tracking.geometry import normalize_boxes
from edge.tracking.lines import Line, LineConfig
from edge.tracking.reorder import ReorderBuffer
from edge.tracking.settings import TrackingSettings
from edge.tracking.state import TrackingState
from edge.tracking.track import EndedTrack
from edge.tracking.zones import Zone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackedResult:
    message: ResultMessage  # predictions of confirmed tracks carry "tracker_id"; nothing dropped
    events: tuple[Event, ...]  # this frame's events, stamped with stream and model
    counters: Mapping[str, object]  # retained values this frame changed (None: counter removed)


@dataclass(frozen=True)
class TrackingStats:
    update_s_last: float  # seconds of tracking work (parse, tracker, zones, lines) for the last result
    update_s_mean: float
    active_tracks: int  # confirmed tracks alive
    tracked: int  # results that went through the tracker
    untracked: int  # results passed through untouched: other models, late, unreadable
    late: int  # of those, the ones that came after the reorder window let later frames go
    held: int  # results waiting in the reorder window now


def _restored_line(config: LineConfig, totals: Mapping[str, Mapping[str, int]]) -> Line:
    return Line(config, counts={c: Counter({"in": v["in"], "out": v["out"]}) for c, v in totals.items()})


class StreamTracking:
    def __init__(self, stream: str, settings: TrackingSettings, state: TrackingState | None = None) -> None:
        state = state or TrackingState()
        self._stream = stream
        self._settings = settings
        self._tracker = ByteTracker(settings.tracker, next_id=state.next_id)
        self._zones = {name: Zone(cfg) for name, cfg in settings.zones.items()}
        self._lines = {name: _restored_line(cfg, state.lines.get(name, {})) for name, cfg in settings.lines.items()}
        self._day = state.day
        self._buffer: ReorderBuffer[ResultMessage] = ReorderBuffer(settings.reorder_s)
        self._class_ids: dict[str, int] = {}  # name -> id, first seen first; one table for local and hosted
        self._class_names: list[str] = []  # the same table by id
        self._visits: dict[int, list[dict[str, object]]] = {}  # tracker_id -> zones visited, for track.end
        self._crossings: dict[int, list[dict[str, object]]] = {}  # tracker_id -> lines crossed
        self._pending: list[Event] = []  # events of a reload, sent with the next tracked result
        self._last_ts: float | None = None  # capture time of the last tracked result
        self._last_source = "local"
        self._published = Published()
        self._published.changes(self.counters())  # the caller publishes counters() once at start
        self._tracked = self._untracked = self._late = 0
        self._update_last = self._update_total = 0.0
        self._warned = False

    # -- results in, tracked results out --------------------------------------------------------

    def offer(self, message: ResultMessage, now: float) -> list[TrackedResult]:
        """Any result of the stream, local or hosted, in any arrival order; returns the results
        released for publishing, in capture order (frame number). A result of the tracked model
        is held until every earlier frame number has arrived or it has waited reorder_s (wall
        clock `now`); results of other models or later than the window pass through untracked."""
        if message.model != self._settings.model:
            return [self._untouched(message)]
        out: list[TrackedResult] = []
        if not self._buffer.push(message.frame, message, now):
            if message.frame in self._buffer or self._last_ts is None or message.timestamp <= self._last_ts:
                self._late += 1
                return [self._untouched(message)]
            # An old frame number with a newer capture time: the stream counts afresh (reconnected).
            out += self._release(self._buffer.restart())
            self._buffer.push(message.frame, message, now)
        return out + self._release(self._buffer.pop_ready(now))

    def flush(self, now: float) -> list[TrackedResult]:
        """Releases what has waited reorder_s by `now`; flush(math.inf) releases everything (at stop)."""
        return self._release(self._buffer.pop_ready(now))

    def gap(self, ts: float, reason: str = "gap") -> list[Event]:
        """The stream is reconnecting (longer than max_gap): every track ends with `reason`,
        leaving its zones. Counters this changes come with the next result (or pending_counters())."""
        return self._stamp(self._end(self._tracker.gap(ts, reason), ts, self._last_source))

    # -- counters and state ---------------------------------------------------------------------

    def counters(self) -> dict[str, object]:
        """Every retained value now: all zones x (configured or seen) classes + all, all lines x classes."""
        seen = list(self._class_ids)
        values: dict[str, object] = {}
        for name, zone in self._zones.items():
            values.update(zone_values(name, zone, zone.config.classes or seen))
        for name, line in self._lines.items():
            values.update(line_values(name, line, line.config.classes or seen))
        return values

    def pending_counters(self) -> dict[str, object]:
        """Counters changed since the last result (e.g. by gap()); they count as published."""
        return self._published.changes(self.counters())

    def state(self) -> TrackingState:
        lines = {name: line.totals() for name, line in self._lines.items()}
        return TrackingState(next_id=self._tracker.next_id, lines=lines, day=self._day)

    def reset_lines(self, names: Iterable[str] | None = None) -> dict[str, object]:
        """Zeroes the counts of the named lines (all when None); returns the changed counters."""
        chosen = list(self._lines) if names is None else list(names)
        unknown = [n for n in chosen if n not in self._lines]
        if unknown:
            raise ValueError(f"tracking: stream {self._stream} has no line {unknown[0]!r} (has {sorted(self._lines)})")
        for name in chosen:
            self._lines[name].counts.clear()
        return self.pending_counters()

    def rollover(self, day: str) -> dict[str, object]:
        """Daily rollover: a new `day` (the caller's local date) zeroes every line; returns the changes."""
        if self._day is not None and day != self._day:
            for line in self._lines.values():
                line.counts.clear()
        self._day = day
        return self.pending_counters()

    def apply(self, settings: TrackingSettings) -> dict[str, object]:
        """A reload: new zones and lines; unchanged lines keep their counts and unchanged zones
        their occupancy; tracker ids continue. A new model ends every track (reason "reload"),
        those events go out with the next result. Returns the changed counters."""
        if settings.model != self._settings.model:
            self._pending += self._end(self._tracker.gap(self._last_ts or 0.0, "reload"), self._last_ts or 0.0, "local")
            self._buffer.restart()
        self._tracker.config = settings.tracker
        old_zones, old_lines = self._zones, self._lines
        zones = settings.zones.items()
        self._zones = {n: old_zones[n] if n in old_zones and old_zones[n].config == c else Zone(c) for n, c in zones}
        lines = settings.lines.items()
        self._lines = {n: old_lines[n] if n in old_lines and old_lines[n].config == c else Line(c) for n, c in lines}
        self._buffer.window_s = settings.reorder_s
        self._settings = settings
        return self.pending_counters()

    @property
    def stats(self) -> TrackingStats:
        mean = self._update_total / self._tracked if self._tracked else 0.0
        return TrackingStats(
            self._update_last, mean, self._tracker.active, self._tracked, self._untracked, self._late, len(self._buffer)
        )

    # -- the work -------------------------------------------------------------------------------

    def _untouched(self, message: ResultMessage) -> TrackedResult:
        self._untracked += 1
        return TrackedResult(message, (), MappingProxyType({}))

    def _release(self, messages: Sequence[ResultMessage]) -> list[TrackedResult]:
        return [self._track(m) for m in messages]

    def _track(self, message: ResultMessage) -> TrackedResult:
        ts, source = message.timestamp, message.source.value
        if self._last_ts is not None and ts < self._last_ts:
            self._late += 1  # its frame number was in order, its capture time was not
            return self._untouched(message)
        t0 = time.perf_counter()
        try:
            frame = frame_from_v1(message.v1, self._class_ids)
        except ValueError as e:
            if not self._warned:
                log.warning("stream %s: result not tracked: %s", self._stream, e)
                self._warned = True
            return self._untouched(message)
        events, self._pending = self._pending, []
        if self._tracker.last_ts is not None and ts - self._tracker.last_ts > self._settings.max_gap:
            events += self._end(self._tracker.gap(ts, "gap"), ts, source)
        update = self._tracker.update(frame.detections, ts)
        events += self._end(update.ended, ts, source)
        events += [track_new(s, self._class_name(s.class_id), source) for s in update.confirmed]
        events += self._zones_and_lines(ts, frame, update, source)
        tracked = replace(message, v1=with_tracker_ids(message.v1, update.tracker_id))
        result = TrackedResult(tracked, tuple(self._stamp(events)), MappingProxyType(self.pending_counters()))
        self._last_ts, self._last_source = ts, source
        self._update_last = time.perf_counter() - t0
        self._update_total += self._update_last
        self._tracked += 1
        return result

    def _zones_and_lines(self, ts: float, frame: Frame, update: TrackerUpdate, source: str) -> list[Event]:
        """Confirmed tracks only, boxes 0-1 of the frame, each counted as its track's class."""
        keep = np.nonzero(update.tracker_id >= 0)[0]
        boxes = normalize_boxes(frame.detections.xyxy[keep], frame.width, frame.height)
        ids = update.tracker_id[keep].tolist()
        table = self._names()  # every class id here came from this stream's table
        names = [table[c] for c in update.track_class[keep].tolist()]
        events: list[Event] = []
        for zone in self._zones.values():
            events += self._note(zone.update(ts, ids, boxes, names, source))
        for s in update.confirmed:  # where each new track was first seen, for lines crossed meanwhile
            if s.first_box is not None:
                first = normalize_boxes(np.asarray([s.first_box]), frame.width, frame.height)
                for line in self._lines.values():
                    line.prime(s.tracker_id, first)
        for line in self._lines.values():
            events += self._note(line.update(ts, ids, boxes, names, source))
        return events

    def _end(self, ended: Sequence[EndedTrack], ts: float, source: str) -> list[Event]:
        """Zone exits for the ended tracks, then their track.end with zones visited and lines crossed."""
        if not ended:
            return []
        ids = [e.summary.tracker_id for e in ended]
        events: list[Event] = []
        for zone in self._zones.values():
            events += self._note(zone.end_tracks(ts, ids, source))
        for line in self._lines.values():
            line.end_tracks(ids)
        for e, tid in zip(ended, ids):
            zones, lines = self._visits.pop(tid, []), self._crossings.pop(tid, [])
            events.append(track_end(e, self._class_name(e.summary.class_id), source, zones=zones, lines=lines))
        return events

    def _note(self, events: list[Event]) -> list[Event]:
        """Remembers zone visits and line crossings per track, for its track.end summary."""
        for e in events:
            if e.type == "zone.exit":
                visit = {"zone": e.fields["zone"], "dwell_s": e.fields.get("dwell_s", 0.0)}
                self._visits.setdefault(e.tracker_id, []).append(visit)
            elif e.type == "line.cross":
                crossing = {"line": e.fields["line"], "direction": e.fields["direction"], "ts": e.ts}
                self._crossings.setdefault(e.tracker_id, []).append(crossing)
        return events

    def _stamp(self, events: list[Event]) -> list[Event]:
        return [replace(e, stream=self._stream, model=self._settings.model) for e in events]

    def _names(self) -> list[str]:
        """Class names by id (the table only grows, so a length check keeps it current)."""
        if len(self._class_names) != len(self._class_ids):
            self._class_names = list(self._class_ids)
        return self._class_names

    def _class_name(self, class_id: int) -> str:
        names = self._names()
        return names[class_id] if 0 <= class_id < len(names) else str(class_id)
