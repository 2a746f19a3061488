"""``edge homeassistant remove``: clear every retained message discovery published.

An empty retained payload on a discovery topic makes Home Assistant delete the device and its
entities; on a state, availability or snapshot topic it deletes the retained message from the
broker. The topics are those the config would publish, plus any retained device document of
this daemon (hub or ``via_device`` the hub) and any retained state, availability or snapshot of
its streams that the broker still holds, e.g. from a stream since removed from the config.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import EdgeConfig
from edge.errors import EdgeError
from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.discovery import HaTopics
from edge.publish.config import MqttConfig
from edge.publish.mqtt import _configure_tls

log = logging.getLogger("edge.homeassistant")

_OWN_SUFFIXES = ("/state", "/available", "/snapshot")


def configured_topics(topics: HaTopics, streams: Iterable[str]) -> list[str]:
    """What a daemon with these streams publishes retained for Home Assistant."""
    out = [topics.config(topics.hub_id)]
    for s in streams:
        out += [topics.config(topics.stream_id(s)), topics.state(s), topics.available(s), topics.snapshot(s)]
    return out


def is_ours(topics: HaTopics, topic: str, payload: bytes) -> bool:
    """Whether a retained message on the watched filters was published by this daemon."""
    if topic.startswith(topics.edge.base + "/"):
        return topic.endswith(_OWN_SUFFIXES) and topic.count("/") == topics.edge.base.count("/") + 2
    try:
        doc = json.loads(payload)
        device = doc.get("dev") or doc.get("device") or {}
        ids = device.get("identifiers") or device.get("ids") or []
    except (ValueError, AttributeError):
        return False
    return topics.hub_id in ids or device.get("via_device") == topics.hub_id


class _Client:
    def __init__(self, cfg: MqttConfig) -> None:
        self.connected = threading.Event()
        self.found: dict[str, bytes] = {}
        self.refused: str | None = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"{cfg.mqtt_client_id}-remove", protocol=mqtt.MQTTv311
        )
        if cfg.username is not None:
            self.client.username_pw_set(cfg.username, cfg.password.resolve() if cfg.password else None)
        if cfg.tls is not None:
            _configure_tls(self.client, cfg.tls)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            self.refused = str(reason)
        self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.retain and message.payload:
            self.found[message.topic] = bytes(message.payload)


def remove(config: EdgeConfig, *, listen: float = 1.0, timeout: float = 10.0) -> list[str]:
    """Empty every retained topic discovery owns for ``config``'s device; returns the topics."""
    if config.mqtt is None:
        raise EdgeError("homeassistant remove: the config has no mqtt: section, so nothing was published")
    ha = config.homeassistant or HomeAssistantConfig()  # discovery may be off now but was on before
    topics = HaTopics(config.mqtt.topics, ha.discovery_prefix)
    c = _Client(config.mqtt)
    try:
        c.client.connect(config.mqtt.host, config.mqtt.port, config.mqtt.keepalive)
    except OSError as exc:
        raise EdgeError(
            f"homeassistant remove: cannot connect to {config.mqtt.host}:{config.mqtt.port}: {exc}"
        ) from None
    c.client.loop_start()
    try:
        broker = f"{config.mqtt.host}:{config.mqtt.port}"
        if not c.connected.wait(timeout):
            raise EdgeError(f"homeassistant remove: {broker} did not answer within {timeout:g} s")
        if c.refused:
            raise EdgeError(f"homeassistant remove: {broker} refused the connection: {c.refused}")
        for filt in (f"{ha.discovery_prefix}/device/+/config", *(f"{topics.edge.base}/+{s}" for s in _OWN_SUFFIXES)):
            c.client.subscribe(filt, qos=1)
        time.sleep(listen)  # retained messages arrive right after the subscription
        found = {t for t, p in dict(c.found).items() if is_ours(topics, t, p)}
        wanted = list(dict.fromkeys([*configured_topics(topics, [p.name for p in config.streams]), *sorted(found)]))
        infos = [c.client.publish(t, b"", qos=1, retain=True) for t in wanted]
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
        return wanted
    finally:
        c.client.disconnect()
        c.client.loop_stop()
