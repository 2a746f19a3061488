"""Each stream's low-rate state for Home Assistant, aggregated from results and stats.

The state topic carries one small JSON document per stream: class counts and occupancy of the
newest results, connectivity, inference rate, latency and mode. :class:`StreamAggregate` turns
the pipeline's messages into it; :class:`Throttle` decides when it is sent (on change at most
every ``min_interval``, unchanged at least every ``max_interval``), so Home Assistant's recorder
sees a few writes a minute instead of every frame.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge.messages import ResultMessage, ResultSource, StreamStats

_CONNECTED_STATES = ("running",)


@dataclass(frozen=True)
class LineCount:
    crossed_in: int = 0
    crossed_out: int = 0


@dataclass(frozen=True)
class StreamState:
    """What the state topic says about one stream. ``frame`` and ``ts`` (capture time of the
    newest result) are not part of :meth:`key`: a new frame alone is not a change."""

    counts: Mapping[str, int]
    present: Mapping[str, bool]
    connected: bool
    available: bool
    mode: str
    fps: float | None = None
    latency_ms: float | None = None
    zones: Mapping[str, int] = field(default_factory=dict)
    lines: Mapping[str, LineCount] = field(default_factory=dict)
    frame: int | None = None
    ts: float | None = None

    def key(self) -> tuple[object, ...]:
        return (
            tuple(sorted(self.counts.items())),
            tuple(sorted(self.present.items())),
            self.connected,
            self.available,
            self.mode,
            self.fps,
            self.latency_ms,
            tuple(sorted(self.zones.items())),
            tuple(sorted(self.lines.items(), key=lambda kv: kv[0])),
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "frame": self.frame,
            "connected": self.connected,
            "fps": self.fps,
            "latency_ms": self.latency_ms,
            "mode": self.mode,
            "counts": dict(self.counts),
            "present": {c: "ON" if p else "OFF" for c, p in self.present.items()},
            "zones": {z: {"count": n} for z, n in self.zones.items()},
            "lines": {n: {"in": c.crossed_in, "out": c.crossed_out} for n, c in self.lines.items()},
        }


def count_classes(v1: Mapping[str, Any]) -> Counter[str]:
    """Objects per class in one v1 document: predictions with a box (detection, instance
    segmentation, keypoints); classification and semantic maps have no objects to count."""
    preds = v1.get("predictions")
    if not isinstance(preds, list):
        return Counter()
    return Counter(str(p["class"]) for p in preds if isinstance(p, dict) and "class" in p and "width" in p)


class StreamAggregate:
    """One stream: the newest result per model, the newest stats, when each class was last seen.

    Not thread-safe: the sink calls it under its lock. ``now`` is the sink's clock (monotonic)."""

    def __init__(
        self, classes: tuple[str, ...], clear_after: float, zones: tuple[str, ...] = (), lines: tuple[str, ...] = ()
    ) -> None:
        self.classes = classes
        self._clear_after = clear_after
        self._counts: dict[str, Counter[str]] = {}  # per model
        self._source: dict[str, ResultSource] = {}
        self._seen: dict[str, float] = {}  # class -> when (clock) a result last had it
        self._frame: int | None = None
        self._ts: float | None = None
        self._stats: StreamStats | None = None
        self._zones = dict.fromkeys(zones, 0)
        self._lines = {n: LineCount() for n in lines}

    def result(self, message: ResultMessage, now: float) -> set[str]:
        """Take one result; returns the classes it holds that no configured list knows yet."""
        counts = count_classes(message.v1)
        self._counts[message.model] = counts
        self._source[message.model] = message.source
        for cls in counts:
            self._seen[cls] = now
        if self._frame is None or message.frame >= self._frame:
            self._frame, self._ts = message.frame, message.timestamp
        return set(counts) - set(self.classes)

    def stats(self, stats: StreamStats) -> None:
        self._stats = stats

    def tracking(self, zones: Mapping[str, int], lines: Mapping[str, LineCount]) -> None:
        """The hook for stream tracking: objects in each zone now, crossings of each line so far."""
        self._zones.update({z: n for z, n in zones.items() if z in self._zones})
        self._lines.update({n: c for n, c in lines.items() if n in self._lines})

    def state(self, now: float) -> StreamState:
        total: Counter[str] = Counter()
        for counts in self._counts.values():
            total.update(counts)
        present = {c: total[c] > 0 or now - self._seen.get(c, float("-inf")) < self._clear_after for c in self.classes}
        s = self._stats
        if s is None:
            connected, available = bool(self._counts), True
        else:
            connected, available = s.state in _CONNECTED_STATES, s.state != "failed"
        mode = "hosted" if any(src is ResultSource.HOSTED for src in self._source.values()) else "local"
        return StreamState(
            counts={c: total[c] for c in self.classes},
            present=present,
            connected=connected,
            available=available,
            mode=mode,
            fps=None if s is None else round(s.fps_out, 1),
            latency_ms=None if s is None or s.latency_p50 != s.latency_p50 else round(s.latency_p50 * 1000, 1),
            zones=dict(self._zones),
            lines=dict(self._lines),
            frame=self._frame,
            ts=self._ts,
        )


class Throttle:
    """When to send: a changed state once ``min_interval`` has passed since the last send, an
    unchanged one every ``max_interval``; the first at once. ``reset`` forces the next send."""

    def __init__(self, min_interval: float, max_interval: float) -> None:
        self._min, self._max = min_interval, max_interval
        self._sent_at: float | None = None
        self._sent_key: object = None

    def due(self, key: object, now: float) -> bool:
        if self._sent_at is None:
            return True
        elapsed = now - self._sent_at
        return elapsed >= (self._min if key != self._sent_key else self._max)

    def sent(self, key: object, now: float) -> None:
        self._sent_at, self._sent_key = now, key

    def reset(self) -> None:
        self._sent_at = None
