"""Logging set-up: journald priorities under systemd, and no flood of repeated lines.

Under systemd, stderr is a stream into journald and ``JOURNAL_STREAM`` names its device and
inode (``<dev>:<ino>``, systemd.exec(5)). Then every line starts with its sd-daemon(3)
priority (``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>`` debug) so ``journalctl -p
warning`` works, and carries no timestamp (the journal stamps each line itself). The check
compares the inode, not just the variable's presence: a child whose stderr was redirected
elsewhere inherits the variable but must not write prefixes into a file.

A camera that fails every second would otherwise write a line every second for days: the
:class:`RepeatFilter` lets the same message (same logger, level, template and arguments, so
the same stream or model) through at most once a window, and the next one let through says
how many were held back.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

JOURNAL_ENV = "JOURNAL_STREAM"
REPEAT_WINDOW_S = 60.0


def priority(levelno: int) -> int:
    """The syslog priority of a logging level (sd-daemon(3)): 3 err, 4 warning, 6 info, 7 debug."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


def writes_to_journal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` is the journal stream systemd connected (``JOURNAL_STREAM`` = its ``dev:ino``)."""
    env = os.environ if environ is None else environ
    expected = env.get(JOURNAL_ENV, "")
    if not expected:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (StringIO, closed)
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


class LevelFormatter(logging.Formatter):
    """``edge: error: ...`` and ``edge: warning: ...``, like the CLI's own errors; info plain."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.ERROR:
            return f"edge: error: {text}"
        if record.levelno >= logging.WARNING:
            return f"edge: warning: {text}"
        return f"edge: {text}"


class JournalFormatter(logging.Formatter):
    """``<3>message``: journald reads the priority and strips it. Every line of a multi-line
    record (a traceback) gets it, or the continuation lines would be logged as info."""

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines() or [""])


@dataclass
class _Seen:
    since: float
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Lets a message through at most once per ``window`` seconds; the next one let through
    after a quiet spell carries the count of those held back. Keyed on logger, level, the
    message template and its arguments, so "stream door: cannot open" and "stream yard:
    cannot open" are counted apart."""

    def __init__(
        self, window: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic, max_keys: int = 4096
    ) -> None:
        super().__init__()
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._seen: dict[tuple[str, int, str, str], _Seen] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg), repr(record.args))
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.since < self.window:
                seen.suppressed += 1
                return False
            held = seen.suppressed if seen is not None else 0
            if seen is None and len(self._seen) >= self._max_keys:
                self._forget(now)
            self._seen[key] = _Seen(now)
        if held:
            record.msg = f"{record.getMessage()} (and {held} more like it in the last {self.window:g} s, not shown)"
            record.args = None
        return True

    def _forget(self, now: float) -> None:
        """Drop keys whose window has passed (their held-back counts are lost: bounded memory wins)."""
        for key in [k for k, s in self._seen.items() if now - s.since >= self.window]:
            del self._seen[key]
        if len(self._seen) >= self._max_keys:
            self._seen.clear()


def error_line(text: str, level: int = logging.ERROR, stream: TextIO | None = None) -> str:
    """A line the CLI prints itself (not through logging): ``edge: error: ...`` in a terminal,
    ``<3>...`` when stderr is the journal, so ``edge validate``'s errors under ``ExecStartPre=``
    are errors in the journal too."""
    if writes_to_journal(sys.stderr if stream is None else stream):
        return f"<{priority(level)}>{text}"
    return f"edge: {'error' if level >= logging.ERROR else 'warning'}: {text}"


def setup_logging(
    verbose: bool = False, stream: TextIO | None = None, environ: Mapping[str, str] | None = None
) -> logging.Handler | None:
    """The CLI's logging: one stderr handler, journald format when stderr is the journal, the
    repeat filter on it. Like ``logging.basicConfig`` it does nothing when the root logger has
    handlers already (a test harness, an embedding program)."""
    root = logging.getLogger()
    if root.handlers:
        return None
    out = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(out)
    formatter = JournalFormatter() if writes_to_journal(out, environ) else logging.Formatter("edge: %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(RepeatFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler


def use_level_prefixes() -> None:
    """``edge: error:``/``edge: warning:`` on the CLI's handlers, except where they write to the
    journal (the priority prefix says it there)."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, JournalFormatter):
            handler.setFormatter(LevelFormatter("%(message)s"))
