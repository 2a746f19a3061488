"""`edge run` end to end: real clips, real fixture models, a real mosquitto, a paho subscriber."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from edge.demo.clip import ClipKind, ClipSpec
from tests.clips import clip
from tests.daemon.edge_proc import EdgeRun, write_config
from tests.helpers import FIXTURE_MODELS, assert_v1_valid
from tests.mqtt_broker import Broker, Received, Subscriber, first_occurrences

RESULTS = "edge/dev1/+/+/predictions"
STATUS = "edge/dev1/status"
STATS = "edge/dev1/stats"
PAYLOAD_EXTRAS = ("stream", "model", "frame", "timestamp", "source", "latency")
# fixture -> (task, multi-label)
TASKS = {
    "detect": ("object-detection", False),
    "segment": ("instance-segmentation", False),
    "pose": ("keypoint-detection", False),
    "classify": ("classification", False),
    "multilabel": ("classification", True),
    "semantic": ("semantic-segmentation", False),
}
DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


@pytest.fixture(scope="module")
def clip300(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 frames, 320x240 at 15 fps: 20 s when played in real time."""
    return clip(tmp_path_factory.mktemp("clips"), ClipSpec(ClipKind.SHAPES, 320, 240, 15.0, 300, seed=8))


def results(messages: list[Received]) -> list[dict[str, Any]]:
    return list(first_occurrences([m for m in messages if m.topic.endswith("/predictions")]))


def frames_of(docs: list[dict[str, Any]], stream: str, model: str) -> list[int]:
    return [d["frame"] for d in docs if d["stream"] == stream and d["model"] == model]


def test_every_frame_of_a_300_frame_file_arrives_in_order_for_every_task(
    tmp_path: Path, broker: Broker, clip300: Path, fixture_models: dict[str, Path]
) -> None:
    streams = {"cam": {"uri": str(clip300), "models": list(TASKS), "realtime": False}}
    cfg = write_config(tmp_path / "edge.yaml", streams, fixture_models, broker.port, tmp_path / "state")
    with Subscriber(broker.port, [RESULTS]).start() as sub:
        with EdgeRun(cfg, tmp_path / "edge.log") as run:
            assert run.wait(240) == 0, run.stderr()[-2000:]
        sub.wait_for(lambda msgs: len(msgs) >= 300 * len(TASKS), timeout=30, what="every result")
        arrived = [m.json() for m in sub.messages]
    for model, (task, multi_label) in TASKS.items():
        docs = [d for d in arrived if d["model"] == model]
        assert [d["frame"] for d in docs] == list(range(300)), f"{model}: missing, repeated or out of order"
        for d in docs:
            assert d["stream"] == "cam" and d["source"] == "local" and set(d["latency"]) >= {"capture", "infer"}
            assert_v1_valid({k: v for k, v in d.items() if k not in PAYLOAD_EXTRAS}, task, multi_label)
            assert d["image"] == {"width": 320, "height": 240}


def test_broker_down_10s_mid_stream_loses_no_result(tmp_path: Path, broker: Broker, clip300: Path) -> None:
    streams = {"cam": {"uri": str(clip300), "models": ["detect"]}}  # real time: 20 s
    cfg = write_config(tmp_path / "edge.yaml", streams, {"detect": DETECT}, broker.port, tmp_path / "state")
    with Subscriber(broker.port, [RESULTS, STATUS], session="watcher").start() as sub:
        with EdgeRun(cfg, tmp_path / "edge.log") as run:
            sub.wait_for(lambda msgs: len(msgs) >= 30, timeout=30, what="results before the outage")
            time.sleep(1.2)  # mosquitto saves its state every second: the watcher's session must be in it
            broker.stop()  # SIGTERM: mosquitto sends the daemon's last will ("offline") and keeps it
            down_at = time.monotonic()
            time.sleep(10.0)
            restarted_at = time.monotonic()
            broker.start()
            assert run.wait(60) == 0, run.stderr()[-2000:]
        sub.wait_for(lambda msgs: len({d["frame"] for d in results(msgs)}) >= 300, timeout=30, what="300 results")
        docs = results(sub.messages)
        status = [(m.text, m.at >= restarted_at) for m in sub.on("/status")]
    assert restarted_at - down_at >= 10.0
    assert frames_of(docs, "cam", "detect") == list(range(300))
    assert status[0] == ("online", False)
    after = [text for text, late in status if late]
    assert "offline" in after and after.index("offline") < after.index("online", after.index("offline")), status


def test_daemon_killed_while_broker_down_publishes_its_spool_after_restart(
    tmp_path: Path, broker: Broker, clip300: Path
) -> None:
    state = tmp_path / "state"
    cfg1 = write_config(
        tmp_path / "a.yaml",
        {"cam": {"uri": str(clip300), "models": ["detect"]}},
        {"detect": DETECT},
        broker.port,
        state,
    )
    with Subscriber(broker.port, [RESULTS], session="watcher").start() as sub:
        with EdgeRun(cfg1, tmp_path / "a.log") as first:
            sub.wait_for(lambda msgs: len(msgs) >= 15, timeout=30, what="results before the outage")
            time.sleep(1.2)
            broker.stop()
            before = max(frames_of(results(sub.messages), "cam", "detect"))
            time.sleep(4.0)  # about 60 frames go to the spool
            first.signal(signal.SIGKILL)
            first.wait(10)
        broker.start()
        # The second run reads another stream: results for "cam" can only come from the spool.
        cfg2 = write_config(
            tmp_path / "b.yaml",
            {"other": {"uri": str(clip300), "models": ["detect"]}},
            {"detect": DETECT},
            broker.port,
            state,
        )
        with EdgeRun(cfg2, tmp_path / "b.log", "--duration", "4") as second:
            assert second.wait(60) == 0, second.stderr()[-2000:]
        sub.wait_for(
            lambda msgs: len(frames_of(results(msgs), "cam", "detect")) >= before + 40, timeout=30, what="the spool"
        )
        cam = frames_of(results(sub.messages), "cam", "detect")
    assert cam == list(range(len(cam))), "a gap: a spooled result was lost"
    assert len(cam) >= before + 40


def test_sigterm_drains_in_flight_frames_and_flushes(tmp_path: Path, broker: Broker, clip300: Path) -> None:
    streams = {"cam": {"uri": str(clip300), "models": ["detect"]}}
    cfg = write_config(tmp_path / "edge.yaml", streams, {"detect": DETECT}, broker.port, tmp_path / "state")
    with Subscriber(broker.port, [RESULTS, STATS, STATUS]).start() as sub:
        with EdgeRun(cfg, tmp_path / "edge.log") as run:
            sub.wait_for(lambda msgs: len(msgs) >= 20, timeout=30, what="results")
            run.signal(signal.SIGTERM)
            assert run.wait(30) == 0, run.stderr()[-2000:]
        final = json.loads(sub.on("/stats")[-1].payload) if sub.on("/stats") else None
        status = [m.text for m in sub.on("/status")]
        docs = results(sub.messages)
    assert final is not None, "no final stats"
    read = final["streams"]["cam"]["frames_read"]
    assert 20 <= read < 300 and final["streams"]["cam"]["dropped"] == 0
    assert frames_of(docs, "cam", "detect") == list(range(read))  # every frame read was published
    assert status[-1] == "offline"
    assert "stopping (signal)" in run.stderr() or "SIGTERM" in run.stderr()


def test_bad_streams_get_one_line_each_while_the_good_one_is_served(
    tmp_path: Path, broker: Broker, clip300: Path
) -> None:
    closed_port = Broker(tmp_path / "unused").port  # nothing listens there
    streams = {
        "good": {"uri": str(clip300), "models": ["detect"], "realtime": False},
        "usb": {"uri": "v4l2:///dev/video99", "models": ["detect"]},
        "gone": {"uri": str(tmp_path / "missing.mp4"), "models": ["detect"]},
        "ipcam": {"uri": f"rtsp://127.0.0.1:{closed_port}/live", "models": ["detect"]},
    }
    cfg = write_config(tmp_path / "edge.yaml", streams, {"detect": DETECT}, broker.port, tmp_path / "state")
    with Subscriber(broker.port, [RESULTS]).start() as sub:
        with EdgeRun(cfg, tmp_path / "edge.log", "--duration", "25") as run:
            sub.wait_for(lambda msgs: len(msgs) >= 300, timeout=60, what="the good stream's results")
            run.signal(signal.SIGTERM)
            assert run.wait(30) == 1  # a stream failed: the exit status says so
        docs = results(sub.messages)
    assert frames_of(docs, "good", "detect") == list(range(300))
    errors = [line for line in run.stderr().splitlines() if line.startswith("edge: error: ")]
    assert not [line for line in run.stderr().splitlines() if not line.startswith("edge: ")]  # no library noise
    for name in ("usb", "gone", "ipcam"):
        mine = [e for e in errors if f"stream {name}:" in e]
        assert len(mine) == 1, (name, errors)
    assert "missing.mp4: no such file" in run.stderr()
    assert "no such device /dev/video99" in run.stderr()
