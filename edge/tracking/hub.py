"""Tracking inside the pipeline: every result of a stream's tracked model goes through its
:class:`StreamTracking` before the sinks see it.

Why a thread of its own: the model workers (and the hosted fallback's threads) hand a result over
and return at once, so tracking and the state file's fsync never sit on the inference path. The
thread owns every tracker: no locks around them. Results of other models and untracked streams
pass straight through.

Order and durability. Released results are published in capture order with their events and
changed counters right after. A result whose events change what must survive a restart (a new
tracker id, a line count) is published only after the stream's state file is saved, at most once
a second (``save_every``), with whatever was released meanwhile waiting behind it: so a SIGKILL
never leaves a published count or id that the state file does not hold, and an id is never
given twice. Results wait at most ``reorder_s`` plus ``save_every`` for that.

A stream that has been reconnecting longer than its ``max_gap`` ends its tracks (``gap()``,
reason ``gap``) once per outage.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge.messages import ResultMessage
from edge.sources import SourceState
from edge.tracking import state as state_file
from edge.tracking.events import Event
from edge.tracking.output import TrackingOutput
from edge.tracking.settings import TrackingSettings
from edge.tracking.state import TrackingState

log = logging.getLogger("edge.tracking")

# Events after which the state file must be saved before anything more is published.
_STATE_EVENTS = frozenset({"track.new", "line.cross"})
LOCK_NAME = ".lock"


class Released(Protocol):
    """What ``StreamTracking`` releases (``TrackedResult``)."""

    @property
    def message(self) -> ResultMessage: ...
    @property
    def events(self) -> Sequence[Event]: ...
    @property
    def counters(self) -> Mapping[str, object]: ...


class Tracker(Protocol):
    """The part of ``edge.tracking.stream.StreamTracking`` the hub uses."""

    def offer(self, message: ResultMessage, now: float) -> Sequence[Released]: ...
    def flush(self, now: float) -> Sequence[Released]: ...
    def gap(self, ts: float, reason: str = "gap") -> Sequence[Event]: ...
    def counters(self) -> Mapping[str, object]: ...
    def pending_counters(self) -> Mapping[str, object]: ...
    def state(self) -> TrackingState: ...
    def apply(self, settings: TrackingSettings) -> Mapping[str, object]: ...
    def rollover(self, day: str) -> Mapping[str, object]: ...
    @property
    def stats(self) -> object: ...


TrackerFactory = Callable[[str, TrackingSettings, "TrackingState | None"], Tracker]


def default_factory(stream: str, settings: TrackingSettings, state: TrackingState | None) -> Tracker:
    from edge.tracking.stream import StreamTracking

    return StreamTracking(stream, settings, state)


def state_path(folder: Path, stream: str) -> Path:
    """Stream names are config names (letters, digits, ``_ - .``), so usable as file names."""
    return folder / f"{stream}.json"


Out = ResultMessage | TrackingOutput
Image = npt.NDArray[np.uint8]


@dataclass
class _Stream:
    name: str
    settings: TrackingSettings
    tracker: Tracker
    path: Path | None
    outbox: list[Out] = field(default_factory=list)
    dirty: bool = False
    last_save: float = -math.inf
    reconnecting_since: float | None = None
    gapped: bool = False
    day: str | None = None  # the local date the daily reset last saw


@dataclass(frozen=True)
class _Configure:
    stream: str
    settings: TrackingSettings | None
    restart: bool
    done: threading.Event


_STOP = object()
_REPUBLISH = object()


class TrackingHub:
    """Runs each tracked stream's tracker on one thread. ``folder``: where the state files live
    (None: nothing persisted). Call :meth:`bind` before :meth:`start`."""

    def __init__(
        self,
        settings: Mapping[str, TrackingSettings],
        folder: Path | None = None,
        factory: TrackerFactory = default_factory,
        tick: float = 0.1,
        save_every: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._folder = folder
        self._factory = factory
        self._tick = tick
        self._save_every = save_every
        self._clock = clock
        self._queue: queue.Queue[object] = queue.Queue()
        self._streams: dict[str, _Stream] = {}
        self._tracked: dict[str, str] = {n: s.model for n, s in settings.items()}  # replaced, never mutated
        self._initial = dict(settings)
        self._thread: threading.Thread | None = None
        self._lock_fd: int | None = None
        self._publish: Callable[[ResultMessage], None] = lambda m: None
        self._emit: Callable[[TrackingOutput], None] = lambda o: None
        self._status: Callable[[str], SourceState | None] = lambda s: None
        self._save_failed: set[str] = set()
        # Per stream: its settings and retained values now, for pictures (replaced, never mutated).
        self._overlays: dict[str, tuple[TrackingSettings, dict[str, object]]] = {}

    def bind(
        self,
        publish: Callable[[ResultMessage], None],
        emit: Callable[[TrackingOutput], None],
        status: Callable[[str], SourceState | None],
    ) -> None:
        self._publish, self._emit, self._status = publish, emit, status

    # -- any thread --------------------------------------------------------------------------

    def publish(self, message: ResultMessage) -> None:
        """Where the workers hand results: tracked ones queue for the tracker, others go on."""
        if self._thread is not None and self._tracked.get(message.stream) == message.model:
            self._queue.put(message)
        else:
            self._publish(message)

    def configure(self, stream: str, settings: TrackingSettings | None, restart: bool = False) -> None:
        """A reload: new settings for a stream (None: no tracking). ``restart``: the stream's
        source restarts (its frame numbers start again), so its tracks end and a new tracker
        continues its ids and counts."""
        if self._thread is None:
            if settings is None:
                self._initial.pop(stream, None)
            else:
                self._initial[stream] = settings
            self._tracked = {n: s.model for n, s in self._initial.items()}
            return
        done = threading.Event()
        self._queue.put(_Configure(stream, settings, restart, done))
        done.wait(10.0)

    def underlay(self, stream: str) -> Callable[[Image], Image] | None:
        """Draws the stream's zones and lines with their counts (for pictures), or None."""
        found = self._overlays.get(stream)
        if found is None:
            return None
        from edge.tracking.draw import draw_tracking  # OpenCV, only once a picture is asked for

        settings, values = found
        return lambda image: draw_tracking(image, settings, values)

    def republish(self) -> None:
        """Every retained value again, e.g. to new sinks after a reload (maybe another broker)."""
        self._queue.put(_REPUBLISH)

    def stats(self) -> dict[str, dict[str, object]]:
        """Per tracked stream: the tracker's stats (seconds per update, active tracks, ...)."""
        out: dict[str, dict[str, object]] = {}
        for name, s in list(self._streams.items()):
            stats = s.tracker.stats
            out[name] = asdict(stats) if is_dataclass(stats) and not isinstance(stats, type) else {}
        return out

    def start(self) -> None:
        for name, settings in self._initial.items():
            self._open(name, settings)
        self._thread = threading.Thread(target=self._run, name="edge-tracking", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> bool:
        """Release what waits (``flush(inf)``), publish it, save every state; False on timeout."""
        thread = self._thread
        if thread is None:
            return True
        self._queue.put(_STOP)
        thread.join(timeout)
        if not thread.is_alive():
            self._thread = None  # from now on results pass straight through
            while not self._queue.empty():  # handed over after the stop (a worker that was late): untracked
                item = self._queue.get_nowait()
                if isinstance(item, ResultMessage):
                    self._publish(item)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        if thread.is_alive():
            log.warning("tracking: did not finish within %.0f s", timeout)
            return False
        return True

    # -- the tracking thread -----------------------------------------------------------------

    def _run(self) -> None:
        next_tick = time.monotonic() + self._tick
        while True:
            try:
                # Idle (nothing tracked yet): wake rarely; a queued item wakes it at once anyway.
                wait = next_tick - time.monotonic() if self._streams else 1.0
                item = self._queue.get(timeout=max(0.0, wait))
            except queue.Empty:
                item = None
            if item is _STOP:
                try:
                    self._finish()
                except Exception:
                    log.exception("tracking: failed to release or save at stop")
                return
            try:
                if isinstance(item, ResultMessage):
                    s = self._streams.get(item.stream)
                    if s is None:  # tracking was removed while it queued
                        self._publish(item)
                    else:
                        self._offer(s, item)
                elif isinstance(item, _Configure):
                    self._reconfigure(item)
                elif item is _REPUBLISH:
                    for s in self._streams.values():
                        s.outbox.append(TrackingOutput(s.name, s.settings.model, (), dict(s.tracker.counters())))
                        self._drain(s)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self._tick
                    self._periodic()
            except Exception:  # one bad result must not end tracking for every stream
                log.exception("tracking: failed on %s", type(item).__name__)

    def _offer(self, s: _Stream, message: ResultMessage) -> None:
        try:
            released = s.tracker.offer(message, self._clock())
        except Exception:  # published untracked rather than lost
            log.exception("tracking: stream %s: result #%d not tracked", s.name, message.frame)
            s.outbox.append(message)
            released = []
        self._release(s, released)

    def _periodic(self) -> None:
        now = self._clock()
        today = time.strftime("%Y-%m-%d", time.localtime(now))
        for s in self._streams.values():
            self._release(s, s.tracker.flush(now))
            self._watch_gap(s)
            if s.settings.daily_reset and s.day != today:
                self._rollover(s, today)
            self._drain(s)

    def _finish(self) -> None:
        for s in self._streams.values():
            self._release(s, s.tracker.flush(math.inf))
            self._drain(s, force=True)
            self._save(s)

    def _release(self, s: _Stream, released: Iterable[Released]) -> None:
        for r in released:
            s.outbox.append(r.message)
            if r.events or r.counters:
                s.outbox.append(TrackingOutput(s.name, s.settings.model, tuple(r.events), dict(r.counters)))
                s.dirty = s.dirty or any(e.type in _STATE_EVENTS for e in r.events)
        self._drain(s)

    def _drain(self, s: _Stream, force: bool = False) -> None:
        if not s.outbox:
            return
        if s.dirty:
            if not force and time.monotonic() - s.last_save < self._save_every:
                return  # held until the state that explains it is on disk
            self._save(s)
        items, s.outbox = s.outbox, []
        for item in items:
            if isinstance(item, ResultMessage):
                self._publish(item)
            else:
                self._note(s, item.counters)
                self._emit(item)

    def _note(self, s: _Stream, changed: Mapping[str, object]) -> None:
        old = self._overlays.get(s.name, (s.settings, {}))[1]
        values = {**old, **changed}
        self._overlays = {**self._overlays, s.name: (s.settings, {k: v for k, v in values.items() if v is not None})}

    def _save(self, s: _Stream) -> None:
        s.dirty = False
        s.last_save = time.monotonic()
        if s.path is None:
            return
        try:
            s.tracker.state().save(s.path)
            self._save_failed.discard(s.name)
        except OSError as exc:
            if s.name not in self._save_failed:  # once per outage of the disk
                self._save_failed.add(s.name)
                log.error("tracking: cannot save %s: %s; counts after a restart may be behind", s.path, exc.strerror)

    def _watch_gap(self, s: _Stream) -> None:
        state = self._status(s.name)
        if state is not SourceState.RECONNECTING:
            s.reconnecting_since, s.gapped = None, False
            return
        now = time.monotonic()
        if s.reconnecting_since is None:
            s.reconnecting_since = now
        if not s.gapped and now - s.reconnecting_since > s.settings.max_gap:
            s.gapped = True
            self._end_tracks(s, "gap")

    def _rollover(self, s: _Stream, today: str) -> None:
        """Local midnight (or a start on a later day than the state file's): line counts start again."""
        s.day = today
        changed = dict(s.tracker.rollover(today))
        s.outbox.append(TrackingOutput(s.name, s.settings.model, (), changed))
        s.dirty = True  # the new day is saved before the zeroed counts go out
        if any(k.startswith("lines/") and v != {"in": 0, "out": 0} for k, v in changed.items()):
            log.info("tracking: stream %s: line counts reset for %s (daily_reset)", s.name, today)

    def _end_tracks(self, s: _Stream, reason: str) -> None:
        self._release(s, s.tracker.flush(math.inf))  # what waited comes before the ends
        events = tuple(s.tracker.gap(self._clock(), reason))
        s.outbox.append(TrackingOutput(s.name, s.settings.model, events, dict(s.tracker.pending_counters())))
        self._drain(s)
        log.info(
            "tracking: stream %s: %d tracks ended (%s)", s.name, sum(e.type == "track.end" for e in events), reason
        )

    def _open(self, name: str, settings: TrackingSettings) -> None:
        if self._folder is not None and self._lock_fd is None:  # a daemon that tracks nothing leaves no trace
            self._take_lock(self._folder)
        path = None if self._folder is None else state_path(self._folder, name)
        saved = state_file.load(path) if path is not None else None
        s = _Stream(name, settings, self._factory(name, settings, saved), path)
        self._streams[name] = s
        self._tracked = {**self._tracked, name: settings.model}
        # Every retained value now, so a subscriber (and a broker that lost them) has them all.
        start = TrackingOutput(name, settings.model, (), dict(s.tracker.counters()))
        self._note(s, start.counters)
        self._emit(start)

    def _reconfigure(self, c: _Configure) -> None:
        s = self._streams.get(c.stream)
        try:
            if s is not None and (c.restart or c.settings is None or c.settings.model != s.settings.model):
                self._end_tracks(s, "reload")
                self._drain(s, force=True)
                self._save(s)
                del self._streams[c.stream]
                self._tracked = {n: m for n, m in self._tracked.items() if n != c.stream}
                self._overlays = {n: o for n, o in self._overlays.items() if n != c.stream}
                s = None
            if c.settings is None:
                return
            if s is None:
                self._open(c.stream, c.settings)
            elif c.settings != s.settings:
                changed = s.tracker.apply(c.settings)
                s.settings = c.settings
                self._note(s, {})  # the new zones and lines
                s.outbox.append(TrackingOutput(c.stream, c.settings.model, (), dict(changed)))
                self._save(s)
                self._drain(s)
        finally:
            c.done.set()

    def _take_lock(self, folder: Path) -> None:
        """Held while the daemon runs, so ``edge tracking reset`` refuses to edit the files then."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.error("tracking: cannot use %s: %s; counts are not kept across restarts", folder, exc.strerror)
            self._folder = None
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log.warning("tracking: another process holds %s; two daemons must not share a state_dir", folder)
        self._lock_fd = fd
