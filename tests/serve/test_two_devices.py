"""Two devices: the first's live stream overflows to the second through ``hosted.url``.

Device B is ``edge serve`` in its own process; device A is the daemon with a live stream
paced faster than its model, whose busy-model frames go to B instead of being dropped.
Every frame A reads ends as answered (locally or by B) or counted as dropped or failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from edge.messages import ResultSource
from tests.mqtt_broker import free_port
from tests.serve.helpers import DETECT, ROOT, request, serve, wait_for

KEY_VAR = "EDGE_TEST_DEVICE_KEY"
KEY = "sk-device-b-key"


@pytest.fixture
def device_b(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "device-b.log"
    args = ["--model", str(DETECT), "--model-id", "shapes/1", "--port", str(port), "--api-key-env", KEY_VAR]
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "serve", *args, "--max-queue", "4"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, KEY_VAR: KEY},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(f"{url}/readyz").status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()[-2000:]
        assert KEY not in log.read_text()


def test_a_live_stream_overflows_to_another_device(
    short_clip: Path, device_b: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VAR, KEY)
    run = serve(
        f"""\
models:
  det:
    path: {DETECT}
    hosted:
      model_id: shapes/1
      url: {device_b}
      api_key: {{env: {KEY_VAR}}}
      when: [overflow]
      max_rate: 200
streams:
  cam: {{uri: {short_clip}, models: [det], live: true, loop: true, fps: 400}}
http: {{port: 0}}
""",
        duration=6.0,
    )
    wait_for(lambda: any(m.source is ResultSource.HOSTED for m in list(run.sink.messages)), 30)
    time.sleep(2.0)
    summary = run.finish()
    routes = summary.streams["cam"].routes["det"]
    messages = run.sink.messages
    hosted = [m for m in messages if m.source is ResultSource.HOSTED]
    assert routes["offered"] == routes["inferred"] + routes["dropped"] + routes["errors"]  # answered or counted
    assert routes["inferred"] == len(messages) and routes["hosted"] == len(hosted) > 0
    assert all(m.to_payload()["source"] == "hosted" and m.v1["image"] == {"width": 320, "height": 240} for m in hosted)
    assert len({(m.frame) for m in messages}) == len(messages)  # each frame answered once
    metrics = request(f"{device_b}/metrics").body.decode()
    served = {
        s.labels["status"]: s.value
        for f in text_string_to_metric_families(metrics)
        if f.name == "edge_http_requests"
        for s in f.samples
        if s.name.endswith("_total")
    }
    assert served.get("200") == len(hosted)  # B answered each hosted result once
    assert run.daemon.pipeline is not None
    outcomes = run.daemon.pipeline.hosted_requests()  # what A's /metrics reports as edge_hosted_requests
    assert outcomes[("det", "200")] == len(hosted)
    assert sum(outcomes.values()) - len(hosted) == routes["errors"]  # every other request failed and was counted
