from __future__ import annotations

import json
import re
from typing import Any

from edge.homeassistant.config import HomeAssistantConfig
from edge.homeassistant.discovery import HaTopics, StreamEntities, documents
from edge.homeassistant.slug import slug
from edge.publish.topics import Topics

TOPICS = HaTopics(Topics("edge", "jetson01"), "homeassistant")
STREAMS = [
    StreamEntities("front-door", ("person", "traffic light")),
    StreamEntities("cam.2", ("car",), zones=("drive way",), lines=("gate",)),
]
LEGAL = re.compile(r"^[a-zA-Z0-9_-]+$")


def docs() -> dict[str, dict[str, Any]]:
    return documents(TOPICS, HomeAssistantConfig(configuration_url="http://jetson01:9001/"), STREAMS, "0.1.0")


def test_one_device_document_per_stream_and_one_for_the_hub() -> None:
    d = docs()
    assert list(d) == [
        "homeassistant/device/edge_jetson01/config",
        "homeassistant/device/edge_jetson01_front-door/config",
        f"homeassistant/device/{TOPICS.stream_id('cam.2')}/config",
    ]
    hub, door, cam2 = d.values()
    assert hub["dev"]["identifiers"] == ["edge_jetson01"] and hub["availability"] == [{"topic": "edge/jetson01/status"}]
    for doc in (door, cam2):
        assert doc["dev"]["via_device"] == "edge_jetson01"
        assert doc["o"] == {"name": "edge", "sw_version": "0.1.0", "support_url": "http://jetson01:9001/"}
        assert doc["availability_mode"] == "all"
    assert door["availability"] == [
        {"topic": "edge/jetson01/status"},
        {"topic": "edge/jetson01/front-door/available"},
    ]


def test_the_components_home_assistant_requires_are_there() -> None:
    door = docs()["homeassistant/device/edge_jetson01_front-door/config"]["cmps"]
    light = slug("traffic light")  # "traffic_light_" and a hash: the space was lost
    assert set(door) == {
        "person_detected",
        "person_count",
        f"{light}_detected",
        f"{light}_count",
        "connected",
        "fps",
        "latency",
        "mode",
        "snapshot",
    }
    person = door["person_detected"]
    assert person == {
        "platform": "binary_sensor",
        "name": "person",
        "state_topic": "edge/jetson01/front-door/state",
        "value_template": "{{ value_json.present[\"person\"] | default('OFF') }}",
        "unique_id": "edge_jetson01_front-door_person_detected",
        "default_entity_id": "binary_sensor.front_door_person",
        "device_class": "occupancy",
    }
    count = door["person_count"]
    assert (count["platform"], count["state_class"], count["default_entity_id"]) == (
        "sensor",
        "measurement",
        "sensor.front_door_person_count",
    )
    assert (door["connected"]["device_class"], door["connected"]["entity_category"]) == ("connectivity", "diagnostic")
    assert door["mode"]["options"] == ["local", "hosted"] and door["fps"]["entity_category"] == "diagnostic"
    assert door["snapshot"] == {
        "platform": "camera",
        "name": "Detections",
        "topic": "edge/jetson01/front-door/snapshot",
        "unique_id": "edge_jetson01_front-door_snapshot",
        "default_entity_id": "camera.front_door_detections",
    }


def test_tracked_streams_get_zone_and_line_entities() -> None:
    cam2 = docs()[f"homeassistant/device/{TOPICS.stream_id('cam.2')}/config"]["cmps"]
    zone = [k for k in cam2 if k.startswith("zone_")]
    lines = sorted(k for k in cam2 if k.startswith("line_"))
    assert len(zone) == 2 and lines == ["line_gate_in", "line_gate_out"]
    assert cam2["line_gate_in"]["state_class"] == "total_increasing"
    assert "value_json.lines[\"gate\"]['in']" in cam2["line_gate_in"]["value_template"]


def test_every_unique_id_is_legal_and_unique_and_no_object_id_is_sent() -> None:
    d = docs()
    ids = [c["unique_id"] for doc in d.values() for c in doc["cmps"].values()]
    assert len(ids) == len(set(ids)) and all(LEGAL.match(i) for i in ids)
    assert all(LEGAL.match(k) for doc in d.values() for k in doc["cmps"])
    assert '"object_id"' not in json.dumps(d)
