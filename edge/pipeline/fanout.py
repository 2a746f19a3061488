"""Results and stats to every sink; one failing sink neither stops nor slows the others much."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from edge.messages import ModelNotice, ResultMessage, Sink, StatsSnapshot

log = logging.getLogger("edge.pipeline")


class Fanout:
    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = tuple(sinks)
        # Model workers publish from their own threads; sinks need not be thread-safe.
        self._lock = threading.Lock()
        self._logged: set[tuple[int, str]] = set()
        self.failures = 0

    def publish(self, message: ResultMessage) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.publish(message)
                except Exception as exc:
                    self._failed(sink, exc)

    def publish_stats(self, stats: StatsSnapshot) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.publish_stats(stats)
                except Exception as exc:
                    self._failed(sink, exc)

    def publish_notice(self, notice: ModelNotice) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.publish_notice(notice)
                except Exception as exc:
                    self._failed(sink, exc)

    def _failed(self, sink: Sink, exc: Exception) -> None:
        self.failures += 1
        key = (id(sink), type(exc).__name__)
        if key not in self._logged:  # once per sink and kind of error
            self._logged.add(key)
            log.error("sink %s failed: %s: %s", type(sink).__name__, type(exc).__name__, exc)
