"""A TensorRT logger that keeps what TensorRT said, to attach it to the error it explains.

TensorRT reports most failures (a deserialization refused, a build out of memory) only as
log lines and a None result. This logger forwards every line to Python logging and keeps the
recent ones, so the exception raised for the None can carry TensorRT's own words.

Imports TensorRT at module level: import this module only where TensorRT is required.
"""

from __future__ import annotations

import collections
import logging
import threading

import tensorrt as trt

log = logging.getLogger("edge.tensorrt")

_LEVELS = {
    trt.ILogger.Severity.INTERNAL_ERROR: logging.CRITICAL,
    trt.ILogger.Severity.ERROR: logging.ERROR,
    trt.ILogger.Severity.WARNING: logging.WARNING,
    trt.ILogger.Severity.INFO: logging.DEBUG,  # TensorRT's INFO is chatty: layer counts, memory use
    trt.ILogger.Severity.VERBOSE: logging.DEBUG,
}
_TAGS = {logging.CRITICAL: "F", logging.ERROR: "E", logging.WARNING: "W", logging.DEBUG: "I"}


class RecordingLogger(trt.ILogger):
    """Forwards TensorRT's log to ``edge.tensorrt`` and keeps the last ``keep`` lines.

    Lines are numbered, so a caller can take :meth:`mark` before a call and :meth:`since`
    after it to get exactly what that call logged. VERBOSE lines are dropped unless debug
    logging is on (a build emits tens of thousands).
    """

    def __init__(self, keep: int = 200) -> None:
        trt.ILogger.__init__(self)
        self._lock = threading.Lock()
        self._lines: collections.deque[tuple[int, int, str]] = collections.deque(maxlen=keep)
        self._count = 0

    def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
        if severity == trt.ILogger.Severity.VERBOSE and not log.isEnabledFor(logging.DEBUG):
            return
        level = _LEVELS.get(severity, logging.WARNING)
        with self._lock:
            self._count += 1
            self._lines.append((self._count, level, msg))
        log.log(level, "TensorRT: %s", msg)

    def mark(self) -> int:
        with self._lock:
            return self._count

    def since(self, mark: int, min_level: int = logging.WARNING) -> list[str]:
        """Lines logged after ``mark`` at ``min_level`` or above, tagged [E]/[W]/..."""
        with self._lock:
            return [f"[{_TAGS[lv]}] {msg}" for n, lv, msg in self._lines if n > mark and lv >= min_level]

    def last_error(self, mark: int) -> str | None:
        errors = self.since(mark, logging.ERROR)
        return errors[-1][4:] if errors else None
