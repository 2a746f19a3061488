"""The Home Assistant sink: discovery documents, state and snapshots over the MQTT sink's connection.

It shares :class:`~edge.publish.mqtt.MqttSink`'s connection (so the daemon's last will is the
hub's availability) as a companion: the MQTT sink tells it of each (re)connect and hands it
what arrives on ``homeassistant/status``. Its own thread does the rest, so the pipeline only
updates counters under a lock:

* on connect, and a random 0-``announce_delay`` s after Home Assistant says ``online``: every
  discovery document, every stream's availability and state (retained, QoS 1);
* each stream's state when it changed (at most every ``state_min_interval``) and at least every
  ``state_max_interval``;
* the annotated snapshot (retained JPEG bytes) when a class turns present, at most every
  ``snapshot_min_interval``, drawn from the pipeline's newest frame by the picture renderer.

A stream without configured ``classes`` starts with its models' classes (when they are known)
and gains any class its results show; its device document is then sent again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from edge import __version__
from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.discovery import HaTopics, StreamEntities, documents, stream_document
from edge.homeassistant.state import LineCount, StreamAggregate, StreamState, Throttle
from edge.jsonfast import dumps_bytes
from edge.messages import ResultMessage, Sink, StatsSnapshot
from edge.pipeline.latest import LatestFrames
from edge.publish.topics import Topics
from edge.tracking.output import TrackingOutput

log = logging.getLogger("edge.homeassistant")

_TICK = 0.2  # the thread wakes at least this often: occupancy clears and throttled sends are due


class Publisher(Protocol):
    """Where the sink's messages go: :class:`~edge.publish.mqtt.MqttSink` is one."""

    def send(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None: ...


@dataclass
class _Stream:
    entities: StreamEntities
    aggregate: StreamAggregate
    throttle: Throttle
    fixed_classes: bool  # from the config: results add no classes
    present: frozenset[str] = frozenset()
    snapshot_at: float | None = None
    snapshot_wanted: bool = False
    available: bool | None = None


class HomeAssistantSink(Sink):
    """``streams``: each stream's name and its models' classes (for streams without configured
    ``classes``); ``frames``: the pipeline's newest frames, for snapshots (None: no snapshots yet)."""

    def __init__(
        self,
        config: HomeAssistantConfig,
        publisher: Publisher,
        topics: Topics,
        streams: Sequence[StreamEntities],
        frames: Callable[[], LatestFrames | None] = lambda: None,
        *,
        clock: Callable[[], float] = time.monotonic,
        start: bool = True,
    ) -> None:
        self._config = config
        self._publisher = publisher
        self._topics = HaTopics(topics, config.discovery_prefix)
        self._frames = frames
        self._clock = clock
        self.subscriptions: tuple[str, ...] = (config.status_topic,)
        self._lock = threading.Condition()
        self._streams = {s.name: self._new_stream(s) for s in streams}
        self._line_classes: dict[
            str, dict[str, dict[str, tuple[int, int]]]
        ] = {}  # stream -> line -> class -> (in, out)
        self._gone: set[str] = set()  # streams removed from the config: their topics are emptied
        self._announce_at: float | None = None
        self._changed: set[str] = set()  # streams whose device document must be sent again
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="edge-homeassistant", daemon=True)
        if start:
            self._thread.start()

    # -- the MQTT sink's side (companion) ---------------------------------------------------

    def connected(self) -> None:
        with self._lock:
            self._announce_at = self._clock()
            self._lock.notify_all()

    def message(self, topic: str, payload: bytes) -> None:
        if payload.strip().lower() != b"online":
            return
        delay = random.uniform(0.0, self._config.announce_delay)  # jitter, not a secret
        log.info("homeassistant: Home Assistant is online; sending discovery again in %.1f s", delay)
        with self._lock:
            self._announce_at = self._clock() + delay
            self._lock.notify_all()

    # -- the pipeline's side ----------------------------------------------------------------

    def publish(self, message: ResultMessage) -> None:
        with self._lock:
            stream = self._streams.get(message.stream)
            if stream is None:
                return
            new = stream.aggregate.result(message, self._clock())
            if new and not stream.fixed_classes:
                self._add_classes(stream, new)
            # No wake-up: the thread's tick (0.2 s) is soon enough, and frames come far faster.

    def publish_stats(self, stats: StatsSnapshot) -> None:
        with self._lock:
            for name, s in stats.streams.items():
                if name in self._streams:
                    self._streams[name].aggregate.stats(s)

    def publish_tracking(self, output: TrackingOutput) -> None:
        """A tracked stream's changed counters become its zone and line entities' state: a zone's
        ``all`` occupancy, and a line's crossings summed over its classes."""
        zones: dict[str, int] = {}
        changed_lines: set[str] = set()
        with self._lock:
            per_class = self._line_classes.setdefault(output.stream, {})
            for key, value in output.counters.items():
                kind, _, rest = key.partition("/")
                name, _, cls = rest.rpartition("/")
                if kind == "zones" and cls == "all":
                    zones[name] = value if isinstance(value, int) else 0
                elif kind == "lines" and name:
                    counts = per_class.setdefault(name, {})
                    if isinstance(value, Mapping):
                        counts[cls] = (int(value.get("in", 0)), int(value.get("out", 0)))
                    else:  # None: the counter was cleared
                        counts.pop(cls, None)
                    changed_lines.add(name)
            lines = {
                n: LineCount(sum(i for i, _ in per_class[n].values()), sum(o for _, o in per_class[n].values()))
                for n in changed_lines
            }
        if zones or lines:
            self.tracking(output.stream, zones, lines)

    def tracking(self, stream: str, zones: Mapping[str, int], lines: Mapping[str, LineCount]) -> None:
        """Zone counts and line crossings of a tracked stream (the tracking branch's hook)."""
        with self._lock:
            if stream in self._streams:
                self._streams[stream].aggregate.tracking(zones, lines)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread, then send every stream's last state (closed before the MQTT sink,
        so it still goes out: the final counts reach HA before the daemon's ``offline``)."""
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._lock:
            for s in self._streams.values():
                s.throttle.reset()
        try:
            self.step()
        except Exception:
            log.exception("homeassistant: the last states were not sent")

    def reconfigure(self, streams: Sequence[StreamEntities], removed: Collection[str] = ()) -> None:
        """After a reload: streams added or changed get their devices (sent again, all of them),
        ``removed`` ones have their device, state, availability and snapshot topics emptied."""
        with self._lock:
            for name in removed:  # known to this sink or to the one a reload replaced
                self._streams.pop(name, None)
                self._gone.add(name)
            for s in streams:
                old = self._streams.get(s.name)
                fresh = self._new_stream(s)
                if old is None or old.entities != fresh.entities:
                    self._streams[s.name] = fresh
            self._announce_at = self._clock()
            self._lock.notify_all()

    def _new_stream(self, s: StreamEntities) -> _Stream:
        config = self._config
        classes = config.classes_for(s.name, s.classes)
        return _Stream(
            replace(s, classes=classes),
            StreamAggregate(classes, config.clear_after, s.zones, s.lines),
            Throttle(config.state_min_interval, config.state_max_interval),
            fixed_classes=s.name in config.classes or config.all_classes is not None,
        )

    def _add_classes(self, stream: _Stream, new: set[str]) -> None:
        classes = stream.entities.classes + tuple(sorted(new))
        stream.entities = replace(stream.entities, classes=classes)
        stream.aggregate.classes = classes
        self._changed.add(stream.entities.name)

    # -- the sink's thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait(_TICK)
                if self._stop:
                    return
            try:
                self.step()
            except Exception:  # a bug here must not end Home Assistant updates for good
                log.exception("homeassistant: publishing failed; trying again")

    def step(self) -> None:
        """One round: announce if due, then each stream's state and snapshot if due."""
        now = self._clock()
        with self._lock:
            announce = self._announce_at is not None and now >= self._announce_at
            if announce:
                self._announce_at = None
                self._changed.clear()
                for s in self._streams.values():
                    s.throttle.reset()
                    s.available = None
            changed = [self._streams[n] for n in sorted(self._changed) if n in self._streams]
            self._changed.clear()
            gone, self._gone = sorted(self._gone), set()
            states = [(s, s.aggregate.state(now)) for s in self._streams.values()]
            entities = [s.entities for s in self._streams.values()]
        for name in gone:
            t = self._topics
            for topic in (t.config(t.stream_id(name)), t.state(name), t.available(name), t.snapshot(name)):
                self._publisher.send(topic, b"", qos=1, retain=True)
            log.info("homeassistant: removed the device of stream %s", name)
        if announce:
            self._announce(entities)
        for s in changed:
            self._send_json(self._topics.config(self._topics.stream_id(s.entities.name)), self._stream_doc(s.entities))
        for stream, state in states:  # a stream a reload removed meanwhile sends a last state, harmless
            self._send_state(stream, state, now)

    def _announce(self, entities: list[StreamEntities]) -> None:
        docs = documents(self._topics, self._config, entities, __version__)
        for topic, doc in docs.items():
            self._send_json(topic, doc)
        log.info(
            "homeassistant: sent discovery for %d devices under %s/device/", len(docs), self._config.discovery_prefix
        )

    def _stream_doc(self, entities: StreamEntities) -> dict[str, object]:
        return stream_document(self._topics, self._config, entities, __version__, snapshot=self._config.snapshot)

    def _send_state(self, stream: _Stream, state: StreamState, now: float) -> None:
        name = stream.entities.name
        if stream.available != state.available:
            stream.available = state.available
            payload = b"online" if state.available else b"offline"
            self._publisher.send(self._topics.available(name), payload, qos=1, retain=True)
        key = state.key()
        if stream.throttle.due(key, now):
            stream.throttle.sent(key, now)
            self._send_json(self._topics.state(name), state.to_payload())
        present = frozenset(c for c, on in state.present.items() if on)
        if present - stream.present:
            stream.snapshot_wanted = True
        elif not present:
            stream.snapshot_wanted = False  # gone again before the interval allowed a picture
        stream.present = present
        if self._config.snapshot and stream.snapshot_wanted:
            self._maybe_snapshot(stream, now)

    def _maybe_snapshot(self, stream: _Stream, now: float) -> None:
        if stream.snapshot_at is not None and now - stream.snapshot_at < self._config.snapshot_min_interval:
            return
        frames = self._frames()
        latest = None if frames is None else frames.get(stream.entities.name)
        if latest is None:
            return  # no frame yet: tried again on the next round
        from edge.web.params import PictureParams
        from edge.web.picture import render_jpeg  # OpenCV loads only once a snapshot is drawn

        height = self._config.snapshot_height
        if height is not None and height >= latest.image.shape[0]:
            height = None  # never scaled up
        params = PictureParams(height=height, quality=self._config.snapshot_quality)
        jpeg = render_jpeg(latest, params)
        stream.snapshot_at, stream.snapshot_wanted = now, False
        self._publisher.send(self._topics.snapshot(stream.entities.name), jpeg, qos=1, retain=True)

    def _send_json(self, topic: str, doc: Mapping[str, object]) -> None:
        self._publisher.send(topic, dumps_bytes(doc, allow_nan=True), qos=1, retain=True)
