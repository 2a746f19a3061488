"""One stream's tracking settings: what ``edge/tracking/config.py`` parses from YAML and what
``edge/tracking/stream.py`` runs. Frozen, so a reload can compare old and new settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from edge.tracking.bytetrack import TrackerConfig
from edge.tracking.lines import LineConfig
from edge.tracking.zones import ZoneConfig


@dataclass(frozen=True)
class TrackingSettings:
    """``model`` names the tracked model; ``reorder_s`` is how long a result may wait for an
    earlier frame's (hosted) answer before it is tracked; ``max_gap`` is how long a stream may be
    reconnecting before its tracks end with reason ``gap``."""

    model: str
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    zones: Mapping[str, ZoneConfig] = field(default_factory=lambda: MappingProxyType({}))
    lines: Mapping[str, LineConfig] = field(default_factory=lambda: MappingProxyType({}))
    reorder_s: float = 0.5
    max_gap: float = 5.0
    daily_reset: bool = False  # line counts start again at local midnight (StreamTracking.rollover)

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("tracking: name the model to track")
        if self.reorder_s < 0 or self.max_gap <= 0:
            raise ValueError("tracking: reorder_s must be >= 0 and max_gap > 0")
        for name, zone in self.zones.items():
            if zone.name != name:
                raise ValueError(f"tracking: zone {name!r} holds the settings of {zone.name!r}")
        for name, line in self.lines.items():
            if line.name != name:
                raise ValueError(f"tracking: line {name!r} holds the settings of {line.name!r}")
