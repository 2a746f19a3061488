"""Capacity stays honest: with the worker saturated by a live camera stream and requests, a
request waits at most max_wait and at most max_queue wait; the rest get 503 + Retry-After,
and the stream's own accounting is untouched."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client import CollectorRegistry

from edge.models.spec import Task
from edge.pipeline import Pipeline, StreamPlan
from edge.serve.config import HttpConfig
from edge.serve.models import ServedModel
from edge.serve.server import HttpServer
from edge.sources import SourceSettings, parse_uri
from tests.pipeline.helpers import MemorySink, runner
from tests.serve.helpers import IMAGE, Answer, request

BODY = base64.b64encode(IMAGE.read_bytes())


def test_a_saturated_worker_answers_503_with_retry_after(short_clip: Path) -> None:
    det, spy = runner(delay=0.5, max_batch=1)  # one image a batch: requests and frames take turns
    # 1 fps: the camera takes half of the 0.5 s model, and requests (which cameras go before) the rest
    live = StreamPlan(SourceSettings("cam", parse_uri(str(short_clip)), live=True, realtime=True, fps=1.0), ("det",))
    sink = MemorySink()
    pipe = Pipeline([live], [det], [sink], requests=2)
    config = HttpConfig(port=0, max_wait=1.5, max_queue=2)
    server = HttpServer(
        config, pipe, {"det/1": ServedModel("det", "det/1", Task.OBJECT_DETECTION)}, lambda: None, CollectorRegistry()
    )
    pipe.start()
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/det/1"
        with ThreadPoolExecutor(12) as pool:
            answers: list[Answer] = list(
                pool.map(lambda _: request(url, BODY, {"Content-Type": "text/plain"}), range(12))
            )
    finally:
        server.stop()
        pipe.wait_idle(30)
        pipe.stop()
    statuses = sorted(a.status for a in answers)
    busy = [a for a in answers if a.status == 503]
    assert set(statuses) == {200, 503} and len(busy) >= 6, statuses  # a 0.5 s model cannot keep up with 12
    assert all(a.headers.get("retry-after") == "1" and "busy" in a.json()["message"] for a in busy)
    waited = [a for a in busy if "waited 1.5 s" in a.json()["message"]]
    full = [a for a in busy if "requests already wait" in a.json()["message"]]
    assert len(waited) + len(full) == len(busy) and full  # refused at once, or after max_wait in the queue
    routes = pipe.routes("cam")["det"]  # the stream's frames: every one inferred or counted as dropped
    assert routes.offered == routes.inferred + routes.dropped + routes.errors and routes.inferred > 0
    assert routes.inferred == len(sink.messages)
    assert pipe.batch_stats()["det"].images == routes.inferred + statuses.count(200)
    assert len(spy.batches) == routes.inferred + statuses.count(200)
