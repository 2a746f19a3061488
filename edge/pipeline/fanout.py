"""Results and stats to every sink; one failing sink neither stops nor slows the others much."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from edge.messages import ModelNotice, ResultMessage, Sink, StatsSnapshot
from edge.tracking.output import TrackingOutput

log = logging.getLogger("edge.pipeline")


@dataclass(frozen=True)
class SinkBusy:
    """The sink a publish is inside now, and since when (``time.monotonic()``)."""

    sink: str
    since: float


class Fanout:
    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = tuple(sinks)
        # Model workers publish from their own threads; sinks need not be thread-safe.
        self._lock = threading.Lock()
        self._logged: set[tuple[int, str]] = set()
        self.failures = 0
        # Written by the publishing thread, read unlocked by the watchdog (a reference swap).
        self._busy: SinkBusy | None = None

    def publish(self, message: ResultMessage) -> None:
        with self._lock:
            for sink in self.sinks:
                self._busy = SinkBusy(type(sink).__name__, time.monotonic())
                try:
                    sink.publish(message)
                except Exception as exc:
                    self._failed(sink, exc)
                finally:
                    self._busy = None

    def publish_stats(self, stats: StatsSnapshot) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.publish_stats(stats)
                except Exception as exc:
                    self._failed(sink, exc)

    def busy(self) -> SinkBusy | None:
        """The sink a result is being handed to right now, if any: one that stays busy is stuck."""
        return self._busy

    def replace_sinks(self, make: Callable[[Sequence[Sink]], Sequence[Sink]]) -> None:
        """Swap the sinks between two results: ``make`` gets the old ones (to close them first,
        e.g. so a new MQTT sink reopens the same spool) and returns the new ones."""
        with self._lock:
            self.sinks = tuple(make(self.sinks))

    def publish_notice(self, notice: ModelNotice) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.publish_notice(notice)
                except Exception as exc:
                    self._failed(sink, exc)

    def publish_tracking(self, output: TrackingOutput) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.publish_tracking(output)
                except Exception as exc:
                    self._failed(sink, exc)

    def _failed(self, sink: Sink, exc: Exception) -> None:
        self.failures += 1
        key = (id(sink), type(exc).__name__)
        if key not in self._logged:  # once per sink and kind of error
            self._logged.add(key)
            log.error("sink %s failed: %s: %s", type(sink).__name__, type(exc).__name__, exc)
