"""What tracking hands the sinks besides the results: one stream's events and changed counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from edge.tracking.events import Event


@dataclass(frozen=True)
class TrackingOutput:
    """``counters``: retained values that changed, keyed by their topic below the stream:
    ``zones/<zone>/<class>`` -> int (``all`` too), ``lines/<line>/<class>`` -> {"in": N, "out": M}."""

    stream: str
    model: str
    events: tuple[Event, ...] = ()
    counters: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def event_payloads(self) -> list[dict[str, Any]]:
        """Each event's JSON, with the stream and model every event carries."""
        out = []
        for event in self.events:
            doc = event.to_json()
            doc["stream"] = doc.get("stream") or self.stream  # StreamTracking stamps them; a bare Event has ""
            doc["model"] = doc.get("model") or self.model
            out.append(doc)
        return out
