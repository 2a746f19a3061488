"""/metrics parsed with prometheus_client's own parser, and /readyz following the models and
the broker: 503 with the reasons while a model waits for its engine or MQTT is down."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.daemon.test_models import StandIn
from tests.engines.common import FakeBuilder
from tests.mqtt_broker import Broker
from tests.serve.helpers import DETECT, IMAGE, Served, request, serve, wait_for

BODY = base64.b64encode(IMAGE.read_bytes())


def scrape(run: Served) -> dict[str, list[Sample]]:
    answer = request(f"{run.url}/metrics")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
    families = text_string_to_metric_families(answer.body.decode())
    return {f.name: f.samples for f in families}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def test_metrics_match_the_daemons_counts_and_readyz_follows_the_broker(
    short_clip: Path, tmp_path: Path, broker: Broker
) -> None:
    run = serve(f"""\
models:
  det: {{path: {DETECT}}}
streams:
  cam: {{uri: {short_clip}, models: [det], realtime: false}}
mqtt: {{host: 127.0.0.1, port: {broker.port}, device_id: dev1, reconnect_delay_max: 1}}
state_dir: {tmp_path / "state"}
http: {{port: 0}}
""")
    try:
        assert run.daemon.pipeline is not None
        wait_for(run.daemon.pipeline.idle, 60)
        wait_for(lambda: request(f"{run.url}/readyz").status == 200, 20)
        assert request(f"{run.url}/det/1", BODY, {"Content-Type": "text/plain"}).status == 200
        assert request(f"{run.url}/det/1", b"???", {"Content-Type": "text/plain"}).status == 400
        m = scrape(run)
        cam = {"stream": "cam", "model": "det"}
        assert value(m["edge_stream_frames"], "edge_stream_frames_total", **cam) == 60
        assert value(m["edge_stream_inferred"], "edge_stream_inferred_total", **cam) == 60
        assert value(m["edge_stream_dropped"], "edge_stream_dropped_total", **cam) == 0
        assert value(m["edge_stream_frames_read"], "edge_stream_frames_read_total", stream="cam") == 60
        latency = m["edge_stream_latency_seconds"]
        assert value(latency, "edge_stream_latency_seconds_count", source="local", **cam) == 60
        assert value(latency, "edge_stream_latency_seconds_bucket", le="+Inf", source="local", **cam) == 60
        assert value(m["edge_http_requests"], "edge_http_requests_total", model="det", status="200") == 1
        assert value(m["edge_http_requests"], "edge_http_requests_total", model="det", status="400") == 1
        assert value(m["edge_model_images"], "edge_model_images_total", model="det") == 61
        batches = run.daemon.pipeline.batch_stats()["det"].batches
        infer = m["edge_model_inference_seconds"]
        assert value(infer, "edge_model_inference_seconds_count", model="det") == batches
        assert value(m["edge_model_state"], "edge_model_state", model="det", state="ready") == 1
        assert value(m["edge_mqtt_connected"], "edge_mqtt_connected") == 1
        assert value(m["edge_spool_depth"], "edge_spool_depth") >= 0
        assert value(m["edge_spool_evictions"], "edge_spool_evictions_total") == 0
        assert request(f"{run.url}/healthz").json() == {"status": "ok"}
        broker.stop()
        wait_for(lambda: request(f"{run.url}/readyz").status == 503, 20)
        assert request(f"{run.url}/readyz").json()["reasons"] == ["mqtt: not connected to the broker"]
        assert request(f"{run.url}/healthz").status == 200  # the process still serves
    finally:
        broker.start()
        run.finish()


def test_readyz_is_503_while_a_model_waits_for_its_engine_and_200_once_attached(tmp_path: Path) -> None:
    gate = threading.Event()
    text = f"models:\n  det: {{path: {DETECT}, backend: tensorrt}}\nhttp: {{port: 0}}\n"
    run = serve(text, StandIn(tmp_path / "engines", FakeBuilder(gate=gate)))
    try:
        waiting = request(f"{run.url}/readyz")
        assert waiting.status == 503
        assert waiting.json()["reasons"][0].startswith("model det: building")
        refused = request(f"{run.url}/det/1", BODY, {"Content-Type": "text/plain"})
        assert refused.status == 503 and refused.headers["retry-after"] == "5"
        assert "not ready yet" in refused.json()["message"]
        gate.set()
        wait_for(lambda: request(f"{run.url}/readyz").status == 200, 30)
        assert request(f"{run.url}/readyz").json() == {"ready": True, "reasons": [], "models": {"det/1": "det"}}
        assert request(f"{run.url}/det/1", BODY, {"Content-Type": "text/plain"}).status == 200
    finally:
        gate.set()
        run.finish()
