"""The ``homeassistant:`` section: Home Assistant MQTT discovery settings.

On by default whenever ``mqtt:`` is configured (``enabled: false`` turns it off); every error
is one line naming the key path, which :mod:`edge.config` prefixes with the file and line.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from edge.publish.fields import ConfigError, check_keys, check_mapping, get_bool, get_int, get_str, parse_duration
from edge.publish.topics import topic_problem

_KEYS = (
    "enabled",
    "discovery_prefix",
    "status_topic",
    "classes",
    "clear_after",
    "state_min_interval",
    "state_max_interval",
    "snapshot",
    "snapshot_min_interval",
    "snapshot_height",
    "snapshot_quality",
    "announce_delay",
    "configuration_url",
)


@dataclass(frozen=True)
class HomeAssistantConfig:
    """``classes``: per stream, the classes that get entities; a stream not in it gets every
    class of its models (``all_classes`` None) or ``all_classes``. ``clear_after``: seconds a
    class must be absent before its occupancy turns off. The state topic is sent on change at
    most every ``state_min_interval`` and at least every ``state_max_interval`` seconds; the
    snapshot when a class turns present, at most every ``snapshot_min_interval``. After Home
    Assistant announces itself, everything is sent again after a random 0-``announce_delay`` s."""

    enabled: bool = True
    discovery_prefix: str = "homeassistant"
    status_topic: str = "homeassistant/status"
    all_classes: tuple[str, ...] | None = None
    classes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    clear_after: float = 2.0
    state_min_interval: float = 1.0
    state_max_interval: float = 60.0
    snapshot: bool = True
    snapshot_min_interval: float = 10.0
    snapshot_height: int | None = 480
    snapshot_quality: int = 70
    announce_delay: float = 3.0
    configuration_url: str | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.clear_after >= 0, "clear_after: must be 0 or more seconds"),
            (self.state_min_interval > 0, "state_min_interval: must be more than 0 seconds"),
            (
                self.state_max_interval >= self.state_min_interval,
                f"state_max_interval: must be at least state_min_interval ({self.state_min_interval:g} s)",
            ),
            (self.snapshot_min_interval >= 0, "snapshot_min_interval: must be 0 or more seconds"),
            (self.announce_delay >= 0, "announce_delay: must be 0 or more seconds"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"homeassistant.{message}")

    def classes_for(self, stream: str, model_classes: Collection[str]) -> tuple[str, ...]:
        """The classes that get entities on ``stream`` whose models know ``model_classes``."""
        if stream in self.classes:
            return self.classes[stream]
        if self.all_classes is not None:
            return self.all_classes
        return tuple(dict.fromkeys(model_classes))

    @classmethod
    def from_mapping(
        cls, data: object, *, mqtt: bool, streams: Collection[str], where: str = "homeassistant"
    ) -> HomeAssistantConfig | None:
        """The section, or None when discovery is off (no ``mqtt:``, or ``enabled: false``)."""
        d: Mapping[str, Any] = {} if data is None else check_mapping(data, where)
        check_keys(d, _KEYS, where)
        enabled = get_bool(d, "enabled", where, True)
        if not enabled:
            return None
        if not mqtt:
            if data is None:
                return None
            raise ConfigError(f"{where}: needs an mqtt: section (Home Assistant reads the entities from the broker)")
        prefix = get_str(d, "discovery_prefix", where, "homeassistant") or "homeassistant"
        status = get_str(d, "status_topic", where, f"{prefix}/status") or f"{prefix}/status"
        for key, value in (("discovery_prefix", prefix), ("status_topic", status)):
            problem = topic_problem(value, levels=True)
            if problem:
                raise ConfigError(f"{where}.{key}: {problem}, got {value!r}")
        all_classes, per_stream = _classes(d.get("classes"), f"{where}.classes", streams)
        height = d.get("snapshot_height", 480)
        url = get_str(d, "configuration_url", where)
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.configuration_url: must start with http:// or https://, got {url!r}")
        return cls(
            enabled=True,
            discovery_prefix=prefix,
            status_topic=status,
            all_classes=all_classes,
            classes=MappingProxyType(per_stream),
            clear_after=_seconds(d, "clear_after", where, 2.0),
            state_min_interval=_seconds(d, "state_min_interval", where, 1.0),
            state_max_interval=_seconds(d, "state_max_interval", where, 60.0),
            snapshot=get_bool(d, "snapshot", where, True),
            snapshot_min_interval=_seconds(d, "snapshot_min_interval", where, 10.0),
            snapshot_height=None if height is None else get_int(d, "snapshot_height", where, 480, 16, 4320),
            snapshot_quality=get_int(d, "snapshot_quality", where, 70, 1, 100),
            announce_delay=_seconds(d, "announce_delay", where, 3.0),
            configuration_url=url,
        )


def _seconds(d: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = parse_duration(d.get(key, default), f"{where}.{key}")
    if value < 0:
        raise ConfigError(f"{where}.{key}: must be 0 or more seconds, got {value:g}")
    return value


def _class_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise ConfigError(f"{where}: must be a list of class names, e.g. [person, car]")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: a class is listed twice in {value}")
    return tuple(value)


def _classes(
    value: object, where: str, streams: Collection[str]
) -> tuple[tuple[str, ...] | None, dict[str, tuple[str, ...]]]:
    """``[a, b]`` for every stream, or ``{stream: [a, b]}``; absent: every class of the models."""
    if value is None:
        return None, {}
    if isinstance(value, list):
        return _class_list(value, where), {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: must be a list of class names, e.g. [person, car], or one per stream")
    d = value
    per_stream: dict[str, tuple[str, ...]] = {}
    for stream, names in d.items():
        if stream not in streams:
            have = ", ".join(sorted(streams)) or "none defined"
            raise ConfigError(f"{where}.{stream}: no stream named {stream!r} under streams (defined: {have})")
        per_stream[str(stream)] = _class_list(names, f"{where}.{stream}")
    return None, per_stream
