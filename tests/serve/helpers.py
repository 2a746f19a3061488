"""The daemon with ``http:`` on its own thread, and a small HTTP client for the tests."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edge.config import parse_config
from edge.daemon.models import EngineSupport
from edge.daemon.runner import Daemon, RunSummary
from tests.helpers import FIXTURE_MODELS
from tests.pipeline.helpers import MemorySink

ROOT = Path(__file__).parents[2]
IMAGE = ROOT / "examples" / "images" / "shapes.jpg"
DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


@dataclass
class Served:
    daemon: Daemon
    sink: MemorySink
    stop: threading.Event
    thread: threading.Thread
    summary: list[RunSummary] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.daemon.http is not None and self.daemon.http.server is not None
        return f"http://127.0.0.1:{self.daemon.http.server.port}"

    def finish(self, timeout: float = 30.0) -> RunSummary:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive() and self.summary, "the daemon did not finish"
        return self.summary[0]


def serve(text: str, support: Callable[[], EngineSupport] | None = None, duration: float = 120.0) -> Served:
    """Start the daemon for a config with ``http:`` (use port 0) and wait until it serves."""
    sink = MemorySink()
    daemon = Daemon(parse_config(text), extra_sinks=[sink], stats_interval=0.2, engine_support=support)
    stop = threading.Event()
    run = Served(daemon, sink, stop, threading.Thread(target=lambda: run.summary.append(daemon.run(stop, duration))))
    run.thread.start()
    wait_for(lambda: (daemon.http is not None and daemon.http.server is not None) or bool(run.summary), 30)
    wait_for(lambda: _listening(daemon) or bool(run.summary), 30)
    assert not run.summary, "the daemon stopped before it served"
    return run


def _listening(daemon: Daemon) -> bool:
    server = daemon.http.server if daemon.http else None
    return server is not None and server.started


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None, method: str = "") -> Answer:
    """Exactly the headers given (urllib would add a Content-Type of its own)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method or ("POST" if body is not None else "GET"), target, body, dict(headers or {}))
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def multipart(field_name: str, data: bytes, filename: str = "imageToUpload") -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, as roboflow-python sends it."""
    boundary = "edge-test-boundary-7f3a"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def without_ids(doc: dict[str, Any]) -> dict[str, Any]:
    """A v1 document without what differs between two runs on the same image."""
    out = {k: v for k, v in doc.items() if k not in ("inference_id", "time")}
    if isinstance(out.get("predictions"), list):
        out["predictions"] = [{k: v for k, v in p.items() if k != "detection_id"} for p in out["predictions"]]
    return out
