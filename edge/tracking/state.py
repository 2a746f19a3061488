"""What a stream's tracking must keep across restarts: the next tracker id and the line totals.

Zones and live tracks are not kept: after a restart nothing is known to be inside a zone, and
tracks start afresh (with ids that continue, so a subscriber never sees an id reused). The file is
small JSON, written atomically (temp file, fsync, rename, fsync of the folder) so a SIGKILL or a
power cut leaves either the old or the new file. A corrupt file costs its counts, never the
daemon: `load` warns in one line and the caller starts from a fresh state.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.fsutil import fsync_dir

log = logging.getLogger(__name__)

STATE_VERSION = 1
DIRECTIONS = ("in", "out")

LineTotals = dict[str, dict[str, dict[str, int]]]  # line -> class -> {"in": n, "out": m}


@dataclass
class TrackingState:
    next_id: int = 1
    lines: LineTotals = field(default_factory=dict)
    day: str | None = None  # the local date (YYYY-MM-DD) the line totals belong to, for a daily rollover

    def __post_init__(self) -> None:
        if isinstance(self.next_id, bool) or not isinstance(self.next_id, int) or self.next_id < 1:
            raise ValueError(f"tracking state: next_id must be an integer >= 1, got {self.next_id!r}")
        if self.day is not None and not isinstance(self.day, str):
            raise ValueError(f"tracking state: day must be a YYYY-MM-DD string or null, got {self.day!r}")
        self.lines = _lines(self.lines)

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "next_id": self.next_id, "day": self.day, "lines": self.lines}

    @classmethod
    def from_json(cls, doc: object) -> TrackingState:
        if not isinstance(doc, Mapping):
            raise ValueError("tracking state: expected a JSON object")
        if doc.get("version", STATE_VERSION) != STATE_VERSION:
            raise ValueError(f"tracking state: version {doc.get('version')!r}, this build reads {STATE_VERSION}")
        unknown = set(doc) - {"version", "next_id", "day", "lines"}
        if unknown:
            raise ValueError(f"tracking state: unknown keys {sorted(unknown)}")
        return cls(next_id=doc.get("next_id", 1), lines=doc.get("lines", {}), day=doc.get("day"))

    def save(self, path: str | Path) -> None:
        """Atomically replace `path` with this state."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_json(), f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)


def load(path: str | Path) -> TrackingState | None:
    """The saved state, or None when there is none or it cannot be read (warned once, in one line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("tracking state %s unreadable (%s); starting with fresh counts", path, e.strerror or e)
        return None
    try:
        return TrackingState.from_json(json.loads(text))
    except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        log.warning("tracking state %s is corrupt (%s); starting with fresh counts", path, reason)
        return None


def _lines(raw: object) -> LineTotals:
    if not isinstance(raw, Mapping):
        raise ValueError("tracking state: lines must be an object of line -> class -> {in, out}")
    out: LineTotals = {}
    for line, classes in raw.items():
        if not isinstance(line, str) or not isinstance(classes, Mapping):
            raise ValueError(f"tracking state: line {line!r} must map class names to {{in, out}}")
        out[line] = {}
        for cls, counts in classes.items():
            if not isinstance(cls, str) or not isinstance(counts, Mapping) or set(counts) - set(DIRECTIONS):
                raise ValueError(f"tracking state: line {line!r} class {cls!r} needs only 'in' and 'out' counts")
            values = {d: counts.get(d, 0) for d in DIRECTIONS}
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values.values()):
                raise ValueError(f"tracking state: line {line!r} class {cls!r} counts must be integers >= 0")
            out[line][cls] = values
    return out
