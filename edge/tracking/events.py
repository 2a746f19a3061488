"""Events: one shape for every type, so a subscriber parses one document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from edge.tracking.track import EndedTrack, TrackSummary

SCHEMA_FILE = "events.schema.json"  # package data: the JSON Schema of Event.to_json()
EVENT_TYPES = ("track.new", "track.end", "zone.enter", "zone.exit", "zone.loiter", "line.cross")


@dataclass(frozen=True)
class Event:
    type: str
    ts: float  # capture time, seconds
    tracker_id: int
    class_name: str  # "class" in JSON
    source: str = "local"  # "local" or "hosted", like results
    fields: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    stream: str = ""  # filled by StreamTracking, which knows its stream and model
    model: str = ""

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"event: unknown type {self.type!r}")

    def to_json(self) -> dict[str, Any]:
        common = {"type": self.type, "ts": self.ts, "stream": self.stream, "model": self.model}
        track = {"tracker_id": self.tracker_id, "class": self.class_name, "source": self.source}
        return {**common, **track, **dict(self.fields)}


@cache
def _schema_text() -> str:
    return resources.files("edge.tracking").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every event document follows; a fresh copy per call."""
    doc: dict[str, Any] = json.loads(_schema_text())
    return doc


def track_new(summary: TrackSummary, class_name: str, source: str = "local") -> Event:
    return Event("track.new", summary.last_seen, summary.tracker_id, class_name, source)


def track_end(ended: EndedTrack, class_name: str, source: str = "local", **extra: Any) -> Event:
    """`extra` carries what other parts know (zones visited, lines crossed)."""
    s = ended.summary
    fields = {
        "reason": ended.reason,
        "first_seen": s.first_seen,
        "last_seen": s.last_seen,
        "duration_s": round(s.duration_s, 3),
        "best_score": round(s.best_score, 4),
        "stationary": s.stationary,
        **extra,
    }
    return Event("track.end", ended.ts, s.tracker_id, class_name, source, MappingProxyType(fields))
