"""The daemon wires Home Assistant discovery to its MQTT sink: the models' classes, states, the LWT."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from edge.config import parse_config
from edge.daemon.runner import Daemon
from tests.helpers import FIXTURE_MODELS
from tests.mqtt_broker import Broker, Subscriber


def test_a_daemon_with_mqtt_announces_its_streams_with_the_models_classes(short_clip: Path, broker: Broker) -> None:
    text = json.dumps(
        {
            "models": {"det": {"path": str(FIXTURE_MODELS / "shapes-detect.onnx")}},
            "streams": {"cam": {"uri": str(short_clip), "models": ["det"], "realtime": False}},
            "mqtt": {"host": "127.0.0.1", "port": broker.port, "device_id": "dev1", "keepalive": 5},
        }
    )
    topics = ["homeassistant/device/#", "edge/dev1/cam/state", "edge/dev1/status"]
    with Subscriber(broker.port, topics).start() as sub:
        summary = Daemon(parse_config(text)).run(threading.Event())
        assert summary.reason == "ended" and summary.ok
        sub.wait_for(lambda m: [x.text for x in m if x.topic == "edge/dev1/status"][-1:] == ["offline"], what="LWT")
    cam = next(m.json() for m in sub.messages if m.topic == "homeassistant/device/edge_dev1_cam/config")
    wanted = {f"{c}_{kind}" for c in ("circle", "square", "triangle") for kind in ("count", "detected")}
    assert wanted <= set(cam["cmps"])  # from the model's own class names
    states = [m.json() for m in sub.messages if m.topic == "edge/dev1/cam/state"]
    assert states and set(states[-1]["counts"]) == {"circle", "square", "triangle"}
    assert sum(states[-1]["counts"].values()) > 0  # the last state, sent at close: the last frame's shapes
    assert states[-1]["frame"] == 59
