"""Under load the cameras come first: two live camera streams publish to a real broker while 16
loopback clients (another process) saturate the v1 route. The streams keep their rate without the load (within
10 %), requests beyond capacity get a quick 503 (not a wait that ends in one), and memory
stays flat."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.demo.clip import ClipKind, ClipSpec
from tests.clips import clip
from tests.mqtt_broker import Broker, Subscriber
from tests.serve.helpers import DETECT, IMAGE, Served, serve

FPS = 4.0  # per stream; the two take about half of the fixture detector on this machine's share
WINDOW = 6.0  # seconds measured without the load, then with it
CLIENTS = 16
CLIENT = Path(__file__).with_name("load_clients.py")  # a child process: clients do not share the daemon's GIL


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture
def device(broker: Broker, clip_cache: Path) -> Iterator[Served]:
    clips = [
        clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=160, height=120, fps=FPS, frames=40, seed=21 + i))
        for i in range(2)
    ]
    streams = "\n".join(
        f"  cam{i}: {{uri: {c}, models: [det], live: true, realtime: true, loop: true}}" for i, c in enumerate(clips)
    )
    run = serve(f"""\
models:
  det: {{path: {DETECT}, max_batch: 1}}
streams:
{streams}
mqtt: {{host: 127.0.0.1, port: {broker.port}, device_id: load}}
http:
  port: 0
  max_queue: 4     # 16 clients > 4 waiting: the route is saturated however fast the machine is
  max_wait: 0.5
""")
    yield run
    run.finish()


def _rates(sub: Subscriber, start: float, end: float) -> dict[str, float]:
    """Results per second of each stream: the share of its frames in the window that have a
    result (frame numbers count every frame read, dropped or not), times the clip's rate. A
    count of messages alone would be off by one message (8 % at 4 fps over 6 s) at the edges."""
    frames: dict[str, list[int]] = {"cam0": [], "cam1": []}
    for m in sub.messages:
        if start <= m.at < end and m.topic.endswith("/predictions"):
            frames[m.topic.split("/")[2]].append(int(m.json()["frame"]))
    return {k: FPS * len(set(v)) / (max(v) - min(v) + 1) if v else 0.0 for k, v in frames.items()}


def test_cameras_keep_their_rate_while_the_route_is_saturated(broker: Broker, device: Served) -> None:
    with Subscriber(broker.port, ["edge/load/+/+/predictions"]).start() as sub:
        sub.wait_for(lambda ms: len(ms) >= 8, 30, "the streams' first results")
        time.sleep(1.0)  # warm: the first results come while the model starts
        t0 = time.monotonic()
        time.sleep(WINDOW)
        t1 = time.monotonic()
        rss_before = _rss_mb()
        port = device.url.rsplit(":", 1)[1]
        cmd = [sys.executable, str(CLIENT), port, str(CLIENTS), str(WINDOW + 2.0), str(IMAGE)]
        clients = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)  # the queue fills and the estimate settles
        t2 = time.monotonic()
        time.sleep(WINDOW)
        t3 = time.monotonic()
        out, _ = clients.communicate(timeout=60)
        answers: list[tuple[int, float]] = [(int(a), float(b)) for a, b in json.loads(out)]
        rss_after = _rss_mb()
    quiet, loaded = _rates(sub, t0, t1), _rates(sub, t2, t3)
    statuses = [s for s, _ in answers]
    busy = sorted(sec for s, sec in answers if s == 503)
    p95 = busy[int(0.95 * (len(busy) - 1))] if busy else float("nan")
    ok = sorted(sec for s, sec in answers if s == 200)
    print(
        f"\nresults/s without load {quiet}, with {loaded}; {len(statuses)} requests: "
        f"{statuses.count(200)} x 200 (median {ok[len(ok) // 2] if ok else 0:.3f} s), "
        f"{len(busy)} x 503 (p95 {p95:.3f} s), "
        f"others {sorted(set(statuses) - {200, 503})}; VmRSS {rss_before:.0f} -> {rss_after:.0f} MB"
    )
    for cam in quiet:
        assert quiet[cam] > 0.8 * FPS, f"{cam}: {quiet[cam]:.2f} results/s without load, the clip is {FPS} fps"
        assert loaded[cam] >= 0.9 * quiet[cam], f"{cam}: {loaded[cam]:.2f}/s under load, {quiet[cam]:.2f}/s without"
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert statuses.count(200) > 0 and len(busy) > CLIENTS, "the route was not saturated"
    assert p95 < 1.0, f"503 took {p95:.2f} s at p95: requests waited for a refusal"
    assert rss_after - rss_before < 50, f"VmRSS grew {rss_after - rss_before:.0f} MB under load"
