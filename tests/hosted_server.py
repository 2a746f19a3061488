"""A stand-in for the hosted API v1 route, run as a real HTTP server on localhost.

``POST /{project}/{version}?api_key=...`` with a base64 image body (a ``data:`` prefix is
stripped) answers with the v1 document of a real local model, as the hosted API would for
that model. ``fail`` queues statuses to answer with first (429 and 503 carry Retry-After: 0),
``always`` answers every request with one status, ``max_body`` answers 413 to larger bodies,
``delay`` slows every answer, ``drop_idle`` closes every connection after its answer
without a ``Connection: close`` (as a server whose keep-alive timeout passed). It speaks
HTTP/1.1 with keep-alive, as the real hosts do, and counts the TCP connections it accepted
(``connections``). Each request is recorded (path,
parameters, image size, body bytes) without its key; ``requests`` counts every request,
failed ones included.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.model import Model
from edge.tasks.params import InferenceParams
from edge.tasks.points import plain
from tests.local_http import LocalServer


@dataclass
class Seen:
    path: str
    params: dict[str, str]
    width: int
    height: int
    content_type: str
    body_bytes: int = 0


@dataclass
class HostedStandIn:
    models: dict[str, Path]  # "project/version" -> ONNX file
    api_key: str = "test-key-123"
    delay: float = 0.0
    fail: deque[int] = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    always: int | None = None
    max_body: int = 5 * 1024 * 1024
    connections: int = 0
    requests: int = 0
    drop_idle: bool = False  # close each connection after its answer without saying so

    def __post_init__(self) -> None:
        self._loaded = {k: Model.open(p) for k, p in self.models.items()}
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection serves many requests

            def setup(self) -> None:
                super().setup()
                with stand_in._lock:
                    stand_in.connections += 1

            def do_POST(self) -> None:
                stand_in._handle(self)
                if stand_in.drop_idle:  # as a server whose idle timeout passed: no Connection: close
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self._server = LocalServer(Handler)
        self.url = self._server.url

    def close(self) -> None:
        self._server.close()
        for m in self._loaded.values():
            m.close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        params = dict(urllib.parse.parse_qsl(parsed.query))
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.requests += 1
            status = self.fail.popleft() if self.fail else (self.always or 200)
        if status == 200 and len(body) > self.max_body:
            status = 413
        if status != 200:
            extra = {"Retry-After": "0"} if status in (429, 503) else {}
            return _reply(h, status, {"message": f"stand-in failure {status}"}, extra)
        if params.get("api_key") != self.api_key:
            return _reply(h, 401, {"message": "Unauthorized access to roboflow API - check API key"})
        model = self._loaded.get(parsed.path.strip("/"))
        if model is None:
            return _reply(h, 404, {"message": "Requested Roboflow resource not found."})
        text = body.decode(errors="replace")
        if text.startswith("data:"):
            text = text.split(",", 1)[1]
        try:
            image = cv2.imdecode(np.frombuffer(base64.b64decode(text, validate=True), np.uint8), cv2.IMREAD_COLOR)
        except ValueError:
            image = None
        if image is None:
            return _reply(h, 400, {"message": "Could not load input image."})
        hosted = InferenceParams.from_hosted(
            confidence=float(params.get("confidence", 0.4)),
            overlap=float(params.get("overlap", 0.3)),
            max_detections=int(params.get("max_detections", 300)),
            # The mask options, applied as a server that honours them would (the legacy path).
            mask_decode_mode=params.get("mask_decode_mode", "accurate"),
            tradeoff_factor=float(params.get("tradeoff_factor", 0.0)),
            response_mask_format=params.get("response_mask_format", "polygon"),
        )
        with self._lock:
            self.seen.append(
                Seen(
                    parsed.path,
                    {k: v for k, v in params.items() if k != "api_key"},
                    image.shape[1],
                    image.shape[0],
                    h.headers.get("Content-Type", ""),
                    len(body),
                )
            )
            doc = model.predict([image], hosted)[0].to_v1()
        _reply(h, 200, doc)


def _reply(h: BaseHTTPRequestHandler, status: int, doc: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    data = json.dumps(plain(doc)).encode()  # a result's Points as the dicts they stand for
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(data)
