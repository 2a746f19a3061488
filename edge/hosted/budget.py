"""``daily_limit``: requests per UTC day for one model, counted in a file that survives restarts.

The count is a small JSON file under the state directory (``hosted/<model>.json``), rewritten
atomically (a temporary file, fsync, rename) after every request, so a crash or power cut
leaves either the old count or the new one. A file that cannot be read is taken as a day
already spent (cost is what this guards), with one line that says how to reset it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from edge.fsutil import fsync_dir

log = logging.getLogger("edge.hosted")


def budget_path(state_dir: Path, model: str) -> Path:
    """Where ``model``'s count lives; the name is percent-encoded so any model name is one file."""
    return state_dir / "hosted" / f"{urllib.parse.quote(model, safe='')}.json"


def utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")


class DailyBudget:
    """At most ``limit`` requests per UTC day; ``path`` None keeps the count in memory only."""

    def __init__(self, limit: int, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._write_failed = False
        self._day, self._used = self._load()

    def _load(self) -> tuple[str, int]:
        today = utc_day(self._clock())
        if self._path is None or not self._path.exists():
            return today, 0
        try:
            doc = json.loads(self._path.read_text())
            day, used = str(doc["day"]), int(doc["sent"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error(
                "hosted daily_limit: cannot read %s (%s); no hosted requests until the next UTC day, "
                "or delete the file to start the count again",
                self._path,
                type(exc).__name__,
            )
            return today, self.limit
        return (day, used) if day == today else (today, 0)

    def left(self) -> int:
        # No lock: asked for every frame offered, it must not wait behind a take()'s fsync.
        if utc_day(self._clock()) != self._day:
            return self.limit
        return max(0, self.limit - self._used)

    def take(self) -> bool:
        """Count one request; False (nothing counted) when today's limit is spent."""
        with self._lock:
            self._roll()
            if self._used >= self.limit:
                return False
            self._used += 1
            self._save()
            return True

    def _roll(self) -> None:
        today = utc_day(self._clock())
        if today != self._day:
            self._day, self._used = today, 0

    def _save(self) -> None:
        if self._path is None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_name(self._path.name + ".tmp")
            with open(tmp, "w") as f:
                f.write(json.dumps({"day": self._day, "sent": self._used, "limit": self.limit}))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
            fsync_dir(self._path.parent)
            self._write_failed = False
        except OSError as exc:  # the request is still counted in memory; said once, not per request
            if not self._write_failed:
                log.error("hosted daily_limit: cannot write %s: %s", self._path, exc.strerror or exc)
            self._write_failed = True
