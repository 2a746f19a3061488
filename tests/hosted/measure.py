"""Measure the hosted fallback as issue 8 did: four live streams overflowing the detection
fixture (320 input) with ``when: [overflow]`` and ``max_rate: 5``, against the v1 stand-in.

    .venv/bin/python -m tests.hosted.measure [--seconds 12] [--outage-seconds 20]

Prints, for a healthy API: requests, bytes per request, image size uploaded, TCP connections;
for an API that answers every request with 503: the requests it received. Not run in CI.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from edge.config import parse_config
from edge.daemon.runner import Daemon
from edge.demo.clip import ClipKind, ClipSpec
from tests.clips import clip
from tests.helpers import FIXTURE_MODELS
from tests.hosted_server import HostedStandIn

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
KEY = "measure-key"


def config(video: Path, api: HostedStandIn, state: Path) -> str:
    streams = "\n".join(f"  cam{i}: {{uri: {video}, models: [det], live: true, loop: true}}" for i in range(4))
    return f"""\
state_dir: {state}
models:
  det:
    path: {DETECT}
    threads: 1
    hosted:
      model_id: shapes/1
      url: {api.url}
      api_key: {{env: EDGE_MEASURE_KEY}}
      when: [overflow]
      max_rate: 5
      breaker_failures: 5
      breaker_pause: 30
streams:
{streams}
"""


def run(api: HostedStandIn, video: Path, state: Path, seconds: float) -> float:
    daemon = Daemon(parse_config(config(video, api, state)), stats_interval=1.0)
    stop = threading.Event()
    t0 = time.monotonic()
    daemon.run(stop, seconds)
    return time.monotonic() - t0


def main() -> None:
    import os

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--outage-seconds", type=float, default=20.0)
    opts = ap.parse_args()
    os.environ["EDGE_MEASURE_KEY"] = KEY
    with tempfile.TemporaryDirectory() as tmp:
        video = clip(Path(tmp), ClipSpec(ClipKind.SHAPES, width=640, height=480, fps=30.0, frames=150, seed=3))
        api = HostedStandIn({"shapes/1": DETECT}, api_key=KEY)
        took = run(api, video, Path(tmp) / "state", opts.seconds)
        n = len(api.seen)
        sizes = sorted({(s.width, s.height) for s in api.seen})
        mean = sum(s.body_bytes for s in api.seen) / max(1, n)
        print(f"healthy API, {took:.1f} s: {api.requests} requests, {mean / 1024:.1f} KiB base64 each, "
              f"images {sizes}, {api.connections} TCP connections")  # fmt: skip
        api.close()
        down = HostedStandIn({"shapes/1": DETECT}, api_key=KEY, always=503)
        took = run(down, video, Path(tmp) / "state2", opts.outage_seconds)
        print(f"API answering 503, {took:.1f} s: {down.requests} requests ({down.requests / took:.2f}/s)")
        down.close()


if __name__ == "__main__":
    main()
