"""A real Home Assistant finds edge's devices over MQTT discovery and shows what the clip shows.

HA (PyPI ``homeassistant`` on Python 3.13, ``tools/install_homeassistant.sh``) runs offline on the
test broker; ``edge run`` plays a clip that alternates empty stretches and shapes and ends on
shapes. Checked over HA's REST API: the entities exist, the occupancy sensors turn on and off,
the count sensors end equal to the objects of the last frame, the entities come back after HA
restarts with the retained discovery wiped (so only edge's answer to HA's birth message can
bring them back), and ``edge homeassistant remove`` deletes them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt

from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from tests.daemon.edge_proc import EdgeRun
from tests.helpers import FIXTURE_MODELS, ROOT
from tests.homeassistant.hass import HomeAssistant
from tests.mqtt_broker import Broker, Subscriber, free_port

FPS = 15.0
CLASSES = ("circle", "square", "triangle")


def clip_with_gaps(cache: Path, out: Path) -> Path:
    """1 s empty, 3 s of shapes, 3 s empty, 2 s of shapes (the last frame has objects)."""
    shapes = cached_clip(cache, ClipSpec(ClipKind.SHAPES, 320, 240, FPS, 75, seed=11))
    cap = cv2.VideoCapture(str(shapes))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    blank = np.full((240, 320, 3), 128, np.uint8)
    sequence = [blank] * 15 + frames[:45] + [blank] * 45 + frames[45:75]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (320, 240))
    for image in sequence:
        writer.write(image)
    writer.release()
    return out


def write_config(path: Path, video: Path, broker: int, state: Path) -> Path:
    doc = {
        "models": {"det": {"path": str(FIXTURE_MODELS / "shapes-detect.onnx")}},
        "streams": {"door": {"uri": str(video), "models": ["det"]}},
        "state_dir": str(state),
        "mqtt": {"host": "127.0.0.1", "port": broker, "device_id": "dev1", "keepalive": 5, "stats_interval": 1},
        "http": {"port": free_port()},  # a server keeps the daemon running after the clip ends
        "homeassistant": {"announce_delay": 0.5, "clear_after": 0.5, "snapshot_min_interval": 1},
    }
    path.write_text(json.dumps(doc))
    return path


def door(states: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {k: v["state"] for k, v in states.items() if ".door_" in k}


def wipe_retained(port: int, topics: list[str]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wiper")
    client.connect("127.0.0.1", port)
    client.loop_start()
    for info in [client.publish(t, b"", qos=1, retain=True) for t in topics]:
        info.wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


LAST = 134  # the clip's last frame


def watch_until_the_end(ha: HomeAssistant, preds: Subscriber, timeout: float = 40) -> dict[str, set[str]]:
    """Every state each stream entity had while the clip played, polled from HA."""
    seen: dict[str, set[str]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(m.json()["frame"] == LAST for m in preds.messages):
        for entity, state in door(ha.states()).items():
            seen.setdefault(entity, set()).add(state)
        time.sleep(0.2)
    return seen


def check_the_end(ha: HomeAssistant, preds: Subscriber, seen: dict[str, set[str]]) -> dict[str, str]:
    """HA's entities against the clip's last frame; returns the count sensors' expected states."""
    last = next(m.json() for m in preds.messages if m.json()["frame"] == LAST)
    want = Counter(p["class"] for p in last["predictions"])
    assert sum(want.values()) > 0, "the clip's last frame should have objects"
    counts = {f"sensor.door_{c}_count": str(want[c]) for c in CLASSES}
    ended = {**counts, "binary_sensor.door_stream": "off"}  # the file ended: not connected
    states = ha.wait_for(lambda s: door(s).items() >= ended.items(), 15, f"states {ended}")
    shown = door(states)
    assert shown["sensor.door_inference_mode"] == "local"
    assert float(shown["sensor.door_inference_rate"]) >= 0
    assert "camera.door_detections" in shown and "binary_sensor.edge_dev1_running" in states
    picture = ha.get_bytes("/api/camera_proxy/camera.door_detections")  # the annotated snapshot
    assert picture[:2] == b"\xff\xd8" and cv2.imdecode(np.frombuffer(picture, np.uint8), 1).shape[0] == 240
    for c in CLASSES:  # on while the shapes showed, off in the empty stretch
        assert {"on", "off"} <= seen.get(f"binary_sensor.door_{c}", set()), (c, seen)
    assert states[f"binary_sensor.door_{want.most_common(1)[0][0]}"]["state"] == "on"
    return counts


def test_home_assistant_shows_the_clip_and_forgets_it_on_removal(tmp_path: Path, broker: Broker) -> None:
    video = clip_with_gaps(tmp_path / "clips", tmp_path / "gaps.mp4")
    cfg = write_config(tmp_path / "edge.yaml", video, broker.port, tmp_path / "state")
    with HomeAssistant(tmp_path / "ha", broker.port) as ha:
        ha.start()
        with Subscriber(broker.port, ["edge/dev1/door/det/predictions"]).start() as preds:
            with EdgeRun(cfg, tmp_path / "edge.log") as edge:
                seen = watch_until_the_end(ha, preds)
                assert edge.proc.poll() is None, edge.stderr()[-2000:]
                counts = check_the_end(ha, preds, seen)

                ha.stop()
                # Wipe the retained discovery documents: only edge's answer to HA's birth
                # message can bring the entities back.
                devices = ["homeassistant/device/edge_dev1/config", "homeassistant/device/edge_dev1_door/config"]
                wipe_retained(broker.port, devices)
                ha.start()
                back = "the entities after a restart"
                ha.wait_for(lambda s: door(s).items() >= counts.items(), 20, back)
                edge.signal(signal.SIGTERM)
                assert edge.wait(30) == 0, edge.stderr()[-2000:]
        removed = subprocess.run(
            [sys.executable, "-m", "edge", "homeassistant", "remove", "--config", str(cfg), "--listen", "0.5"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert removed.returncode == 0, removed.stderr
        ha.wait_for(lambda s: not door(s) and "binary_sensor.edge_dev1_running" not in s, 10, "removal")
