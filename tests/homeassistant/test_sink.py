"""The Home Assistant sink through a real mosquitto: retained discovery, re-announce on HA's
birth message, the state rate, snapshots and removal."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.config import parse_config
from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.discovery import StreamEntities
from edge.homeassistant.remove import remove
from edge.homeassistant.sink import HomeAssistantSink
from edge.messages import ResultMessage, ResultSource
from edge.pipeline.latest import LatestFrames
from edge.publish.config import MqttConfig, SpoolConfig
from edge.publish.mqtt import MqttSink
from edge.sources import Frame
from tests.helpers import FIXTURE_MODELS
from tests.mqtt_broker import Broker, Subscriber

TOPICS = ["homeassistant/device/#", "edge/dev1/+/state", "edge/dev1/+/available", "edge/dev1/+/snapshot"]
HA = HomeAssistantConfig(announce_delay=0.0, snapshot_min_interval=0.0, clear_after=0.0)


def result(stream: str, frame: int, n: int) -> ResultMessage:
    preds = [{"x": 20.0, "y": 20.0, "width": 10.0, "height": 10.0, "class": "person", "confidence": 0.9}] * n
    v1 = {"image": {"width": 64, "height": 48}, "predictions": preds}
    return ResultMessage(stream, "det", frame, time.time(), ResultSource.LOCAL, v1)


@pytest.fixture
def sinks(tmp_path: Path, broker: Broker) -> Iterator[tuple[MqttSink, HomeAssistantSink, LatestFrames]]:
    mqtt = MqttSink(MqttConfig("127.0.0.1", broker.port, device_id="dev1", keepalive=5), SpoolConfig(tmp_path / "s"))
    latest = LatestFrames()
    streams = [StreamEntities("door", ("person",)), StreamEntities("yard", ("person",))]
    ha = HomeAssistantSink(HA, mqtt, mqtt._topics, streams, lambda: latest)
    mqtt.add_companion(ha)
    yield mqtt, ha, latest
    ha.close()
    mqtt.close(2.0)


def discovery(sub: Subscriber) -> list[dict[str, object]]:
    return [m.json() for m in sub.messages if m.topic.startswith("homeassistant/device/") and m.payload]


def test_discovery_is_retained_and_sent_again_when_home_assistant_comes_online(broker: Broker, sinks) -> None:
    with Subscriber(broker.port, TOPICS).start() as live:
        live.wait_for(lambda _: len(discovery(live)) == 3, what="hub and two stream devices")
    with Subscriber(broker.port, TOPICS).start() as late:  # a Home Assistant started later
        want = {"edge/dev1/door/state", "edge/dev1/door/available", "edge/dev1/yard/state"}
        late.wait_for(lambda m: len(discovery(late)) == 3 and {x.topic for x in m} >= want, what="retained copies")
        assert all(m.retain for m in late.messages)
        before = len(late.messages)
        late.client.publish("homeassistant/status", "online", qos=1)
        late.wait_for(lambda m: len(discovery(late)) == 6, what="discovery again after HA's birth message")
        again = {"edge/dev1/door/state", "edge/dev1/yard/state"}  # the states follow, unchanged as they are
        late.wait_for(lambda m: {x.topic for x in m[before:]} >= again, what="the states again")


def test_state_goes_out_on_change_at_most_once_a_second(broker: Broker, sinks) -> None:
    _mqtt, ha, _latest = sinks
    with Subscriber(broker.port, ["edge/dev1/door/state"]).start() as sub:
        sub.wait_for(lambda m: len(m) >= 1, what="the first state")
        start = time.monotonic()
        frame = 0
        while time.monotonic() - start < 3.0:  # 50 results a second, the count changing every time
            ha.publish(result("door", frame, frame % 3))
            frame += 1
            time.sleep(0.02)
        time.sleep(1.2)
    sent = [m.at for m in sub.messages[1:]]
    assert 2 <= len(sent) <= 5, sent
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(sent)), sent
    assert sub.messages[-1].json()["counts"] == {"person": (frame - 1) % 3}


def test_a_snapshot_is_sent_when_a_class_appears(broker: Broker, sinks) -> None:
    _mqtt, ha, latest = sinks
    image = np.full((48, 64, 3), 90, np.uint8)
    latest.offer(Frame("door", 0, time.time(), image, 0.0, 0.0), ("det",))
    message = result("door", 0, 1)
    latest.result(message)
    with Subscriber(broker.port, ["edge/dev1/door/snapshot"]).start() as sub:
        ha.publish(message)
        sub.wait_for(lambda m: len(m) >= 1, what="a snapshot")
    assert sub.messages[0].payload[:2] == b"\xff\xd8"  # a JPEG
    with Subscriber(broker.port, ["edge/dev1/door/snapshot"]).start() as late:
        late.wait_for(lambda m: len(m) >= 1, what="the retained snapshot")
    assert late.messages[0].retain and late.messages[0].payload == sub.messages[0].payload


def test_remove_clears_every_retained_topic(tmp_path: Path, broker: Broker, sinks) -> None:
    mqtt, ha, _latest = sinks
    with Subscriber(broker.port, TOPICS).start() as sub:
        sub.wait_for(lambda _: len(discovery(sub)) == 3, what="discovery")
    ha.close()
    mqtt.close(2.0)
    text = json.dumps(
        {
            "models": {"det": {"path": str(FIXTURE_MODELS / "shapes-detect.onnx")}},
            "streams": {"door": {"uri": "rtsp://x/a", "models": ["det"]}},  # yard left the config since
            "mqtt": {"host": "127.0.0.1", "port": broker.port, "device_id": "dev1"},
        }
    )
    removed = remove(parse_config(text), listen=0.5)
    assert "homeassistant/device/edge_dev1_yard/config" in removed  # found on the broker
    with Subscriber(broker.port, TOPICS).start() as after:
        time.sleep(0.5)
    assert after.messages == [], [m.topic for m in after.messages]


def test_a_reload_adds_new_streams_and_empties_the_topics_of_removed_ones(broker: Broker, sinks) -> None:
    _mqtt, ha, _latest = sinks
    with Subscriber(broker.port, TOPICS).start() as sub:
        sub.wait_for(lambda _: len(discovery(sub)) == 3, what="discovery")
        ha.reconfigure([StreamEntities("door", ("person",)), StreamEntities("gate", ("car",))], removed=["yard"])
        yard = {f"edge/dev1/yard/{t}" for t in ("state", "available", "snapshot")}
        yard.add("homeassistant/device/edge_dev1_yard/config")
        sub.wait_for(lambda m: {x.topic for x in m if not x.payload} >= yard, what="yard's topics emptied")
        sub.wait_for(lambda m: any(x.topic.endswith("edge_dev1_gate/config") for x in m), what="gate's device")
    gate = next(m.json() for m in sub.messages if m.topic.endswith("edge_dev1_gate/config"))
    assert set(gate["cmps"]) >= {"car_detected", "car_count"}
