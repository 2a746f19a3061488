"""Home Assistant device-based discovery documents: pure functions of the config.

One hub device for the daemon (``homeassistant/device/edge_<device>/config``) and one device
per stream (``.../edge_<device>_<stream>/config``, ``via_device`` the hub), each a retained
JSON document with ``dev`` (the device), ``o`` (origin), ``availability`` and its components under ``cmps``.
Inside them full key names are used, ``default_entity_id`` instead of
the deprecated ``object_id``. Every entity reads the stream's low-rate retained state topic
(:mod:`edge.homeassistant.state`), never the per-frame predictions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.slug import entity_part, slug
from edge.publish.topics import Topics, topic_level

MODES = ("local", "hosted")


@dataclass(frozen=True)
class StreamEntities:
    """What one stream's device offers: a count and an occupancy entity per class, and, when
    the stream is tracked, an entity per zone and line (names as the tracking config gives)."""

    name: str
    classes: tuple[str, ...]
    zones: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class HaTopics:
    """The topics discovery uses: HA's config topics and edge's state, availability, snapshot."""

    edge: Topics
    discovery_prefix: str

    def ident(self, *parts: str) -> str:
        """``edge_`` and the slugged parts joined by ``_``; where a part's slug holds ``_``
        itself (so the joined text could come from other parts) a hash of the parts follows."""
        slugs = [slug(p) for p in (self.edge.device_id, *parts)]
        text = "_".join(["edge", *slugs])
        if any("_" in s for s in slugs):
            text += "_" + hashlib.sha1("\0".join((self.edge.device_id, *parts)).encode()).hexdigest()[:6]
        return text

    @property
    def hub_id(self) -> str:
        return self.ident()

    def stream_id(self, stream: str) -> str:
        return self.ident(stream)

    def config(self, device_ident: str) -> str:
        return f"{self.discovery_prefix}/device/{device_ident}/config"

    def state(self, stream: str) -> str:
        return f"{self.edge.base}/{topic_level(stream)}/state"

    def available(self, stream: str) -> str:
        return f"{self.edge.base}/{topic_level(stream)}/available"

    def snapshot(self, stream: str) -> str:
        return f"{self.edge.base}/{topic_level(stream)}/snapshot"


def _key(name: str) -> str:
    """A JSON key as a Jinja subscript: ``value_json.counts["traffic light"]``."""
    return "[" + json.dumps(name) + "]"


def _origin(version: str, config: HomeAssistantConfig) -> dict[str, str]:
    origin = {"name": "edge", "sw_version": version}
    if config.configuration_url:
        origin["support_url"] = config.configuration_url
    return origin


def hub_document(topics: HaTopics, config: HomeAssistantConfig, version: str) -> dict[str, Any]:
    """The daemon's own device: whether it runs (its last will) and its spool depth."""
    hub = topics.hub_id
    device: dict[str, Any] = {
        "identifiers": [hub],
        "name": f"edge {topics.edge.device_id}",
        "manufacturer": "edge",
        "model": "inference daemon",
        "sw_version": version,
    }
    if config.configuration_url:
        device["configuration_url"] = config.configuration_url
    status = topics.edge.status
    cmps: dict[str, dict[str, Any]] = {
        "running": {
            "platform": "binary_sensor",
            "name": "Running",
            "device_class": "running",
            "state_topic": status,
            "payload_on": "online",
            "payload_off": "offline",
            "unique_id": f"{hub}_running",
        },
        "spooled": {
            "platform": "sensor",
            "name": "MQTT spool",
            "unit_of_measurement": "messages",
            "state_class": "measurement",
            "entity_category": "diagnostic",
            "state_topic": topics.edge.stats,
            "value_template": "{{ value_json.publisher.spooled }}",
            "unique_id": f"{hub}_spooled",
        },
    }
    return {
        "dev": device,
        "o": _origin(version, config),
        "availability": [{"topic": status}],
        "qos": 1,
        "cmps": cmps,
    }


def _sensor(platform: str, name: str, uid: str, entity: str, state: str, template: str, **extra: Any) -> dict[str, Any]:
    return {
        "platform": platform,
        "name": name,
        "state_topic": state,
        "value_template": template,
        "unique_id": uid,
        "default_entity_id": f"{platform}.{entity}",
        **extra,
    }


def _class_components(topics: HaTopics, stream: StreamEntities) -> dict[str, dict[str, Any]]:
    state = topics.state(stream.name)
    cmps: dict[str, dict[str, Any]] = {}
    for cls in stream.classes:
        uid, ent = topics.ident(stream.name, cls), f"{entity_part(stream.name)}_{entity_part(cls)}"
        key = slug(cls)
        cmps[f"{key}_detected"] = _sensor(
            "binary_sensor",
            cls,
            f"{uid}_detected",
            ent,
            state,
            "{{ value_json.present" + _key(cls) + " | default('OFF') }}",
            device_class="occupancy",
        )
        cmps[f"{key}_count"] = _sensor(
            "sensor",
            f"{cls} count",
            f"{uid}_count",
            f"{ent}_count",
            state,
            "{{ value_json.counts" + _key(cls) + " | default(0) }}",
            state_class="measurement",
        )
    return cmps


def _tracking_components(topics: HaTopics, stream: StreamEntities) -> dict[str, dict[str, Any]]:
    """Zone occupancy and count, line crossings in and out (the ``zones``/``lines`` hook)."""
    state = topics.state(stream.name)
    cmps: dict[str, dict[str, Any]] = {}
    base = entity_part(stream.name)
    for zone in stream.zones:
        uid, ent, ref = topics.ident(stream.name, "zone", zone), f"{base}_zone_{entity_part(zone)}", _key(zone)
        cmps[f"zone_{slug(zone)}_occupied"] = _sensor(
            "binary_sensor",
            f"Zone {zone}",
            f"{uid}_occupied",
            ent,
            state,
            "{{ 'ON' if (value_json.zones" + ref + ".count | default(0)) > 0 else 'OFF' }}",
            device_class="occupancy",
        )
        cmps[f"zone_{slug(zone)}_count"] = _sensor(
            "sensor",
            f"Zone {zone} count",
            f"{uid}_count",
            f"{ent}_count",
            state,
            "{{ value_json.zones" + ref + ".count | default(0) }}",
            state_class="measurement",
        )
    for line in stream.lines:
        uid, ent, ref = topics.ident(stream.name, "line", line), f"{base}_line_{entity_part(line)}", _key(line)
        for direction in ("in", "out"):
            cmps[f"line_{slug(line)}_{direction}"] = _sensor(
                "sensor",
                f"Line {line} {direction}",
                f"{uid}_{direction}",
                f"{ent}_{direction}",
                state,
                "{{ value_json.lines" + ref + "['" + direction + "'] | default(0) }}",
                state_class="total_increasing",
            )
    return cmps


def _stream_health(topics: HaTopics, stream: StreamEntities) -> dict[str, dict[str, Any]]:
    state, uid, ent = topics.state(stream.name), topics.stream_id(stream.name), entity_part(stream.name)
    diag = {"entity_category": "diagnostic"}
    return {
        "connected": _sensor(
            "binary_sensor",
            "Stream",
            f"{uid}_connected",
            f"{ent}_stream",
            state,
            "{{ 'ON' if value_json.connected else 'OFF' }}",
            device_class="connectivity",
            **diag,
        ),
        "fps": _sensor(
            "sensor",
            "Inference rate",
            f"{uid}_fps",
            f"{ent}_inference_rate",
            state,
            "{{ value_json.fps }}",
            unit_of_measurement="fps",
            state_class="measurement",
            **diag,
        ),
        "latency": _sensor(
            "sensor",
            "Latency",
            f"{uid}_latency",
            f"{ent}_latency",
            state,
            "{{ value_json.latency_ms }}",
            device_class="duration",
            unit_of_measurement="ms",
            state_class="measurement",
            **diag,
        ),
        "mode": _sensor(
            "sensor",
            "Inference mode",
            f"{uid}_mode",
            f"{ent}_inference_mode",
            state,
            "{{ value_json.mode }}",
            device_class="enum",
            options=list(MODES),
            **diag,
        ),
    }


def stream_document(
    topics: HaTopics, config: HomeAssistantConfig, stream: StreamEntities, version: str, *, snapshot: bool
) -> dict[str, Any]:
    """One stream's device: per class occupancy and count, health, the snapshot camera."""
    uid = topics.stream_id(stream.name)
    device: dict[str, Any] = {
        "identifiers": [uid],
        "name": stream.name,
        "manufacturer": "edge",
        "model": "camera stream",
        "sw_version": version,
        "via_device": topics.hub_id,
    }
    if config.configuration_url:
        device["configuration_url"] = config.configuration_url
    cmps = _class_components(topics, stream)
    cmps.update(_tracking_components(topics, stream))
    cmps.update(_stream_health(topics, stream))
    if snapshot:
        cmps["snapshot"] = {
            "platform": "camera",
            "name": "Detections",
            "topic": topics.snapshot(stream.name),
            "unique_id": f"{uid}_snapshot",
            "default_entity_id": f"camera.{entity_part(stream.name)}_detections",
        }
    return {
        "dev": device,
        "o": _origin(version, config),
        "availability": [{"topic": topics.edge.status}, {"topic": topics.available(stream.name)}],
        "availability_mode": "all",
        "qos": 1,
        "cmps": cmps,
    }


def documents(
    topics: HaTopics, config: HomeAssistantConfig, streams: list[StreamEntities], version: str
) -> dict[str, dict[str, Any]]:
    """Every discovery topic and its document, the hub first."""
    docs = {topics.config(topics.hub_id): hub_document(topics, config, version)}
    for stream in streams:
        docs[topics.config(topics.stream_id(stream.name))] = stream_document(
            topics, config, stream, version, snapshot=config.snapshot
        )
    return docs
