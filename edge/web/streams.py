"""Each stream's ``latest.jpg``, ``latest.json`` and ``mjpeg``, and the stream states they read.

Pictures are drawn on niced threads (edge/web/priority.py) and as often as the pace allows
(edge/web/load.py): ``latest.jpg`` tells the page when to ask again (``X-Edge-Refresh``, ms).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from edge.messages import StatsSnapshot
from edge.pipeline.batches import BatchSnapshot
from edge.pipeline.latest import LatestDocuments, LatestFrame, LatestFrames
from edge.serve.routes import json_response, message
from edge.web.jpegcache import MIN_PERIOD, JpegCache
from edge.web.load import LoadMonitor
from edge.web.mjpeg import BOUNDARY, MjpegHub
from edge.web.params import PictureParamError, PictureParams, parse_picture

_UP = ("running", "starting")  # a stream in any other state is down: its last frame is marked offline
STATES_MAX_AGE = 0.5  # seconds a picture request may use an earlier request's stream states


class WebPipeline(Protocol):
    latest: LatestFrames

    def snapshot(self) -> StatsSnapshot: ...

    def batch_stats(self) -> Mapping[str, BatchSnapshot]: ...


class States:
    """The pipeline's snapshot, taken at most every ``max_age`` seconds for the picture routes.

    A page polls each tile 4 times a second; a full snapshot (latency percentiles of every
    stream, taken under the locks the pipeline's threads use) per picture would cost more than
    the stream state it is read for.
    """

    def __init__(self, pipeline: WebPipeline, max_age: float = STATES_MAX_AGE) -> None:
        self._pipeline, self._max_age = pipeline, max_age
        self._lock = threading.Lock()
        self._snap: StatsSnapshot | None = None
        self._taken = 0.0

    def get(self) -> StatsSnapshot:
        with self._lock:
            now = time.monotonic()
            if self._snap is None or now - self._taken > self._max_age:
                self._snap, self._taken = self._pipeline.snapshot(), now
            return self._snap

    def fresh(self) -> StatsSnapshot:
        """A new snapshot (for /api/streams and /api/status), kept for the picture routes too."""
        snap = self._pipeline.snapshot()
        with self._lock:
            self._snap, self._taken = snap, time.monotonic()
        return snap


class StreamPictures:
    """The three picture routes of a stream; ``hub`` encodes through ``pictures`` too, and
    ``latest.jpg`` encodes on ``executor`` (niced threads)."""

    def __init__(
        self,
        latest: LatestFrames,
        states: States,
        pictures: JpegCache,
        hub: MjpegHub,
        monitor: LoadMonitor,
        executor: Executor,
    ) -> None:
        self._latest, self._states, self._pictures, self._hub = latest, states, pictures, hub
        self._monitor, self._executor = monitor, executor

    async def latest_jpg(self, request: Request) -> Response:
        found = self._find(request)
        if isinstance(found, Response):
            return found
        name, params, offline = found
        held = self._latest.get(name, params.frame)
        if held is None:
            return _not_held(name, params)
        pace = self._monitor.pace()
        # Pollers out of step share one encode per interval: a picture younger than most of one
        # is as new as the pace allows anyway.
        within = max(MIN_PERIOD, 0.8 * pace.tile_ms / 1000)
        recent = self._pictures.recent(name, params, within) if params.frame is None else None
        if recent is not None:  # encoded moments ago for another poller: that frame, no new encode
            held, jpeg = recent
        else:
            jpeg = await asyncio.get_running_loop().run_in_executor(self._executor, self._encode, held, params)
        headers = {**_headers(held, offline), "X-Edge-Refresh": str(pace.tile_ms)}
        return Response(jpeg, 200, headers, media_type="image/jpeg")

    def _encode(self, held: LatestFrame, params: PictureParams) -> bytes:
        try:
            return self._pictures.get(held, params)
        finally:
            self._monitor.cpu.sample()

    async def latest_json(self, request: Request) -> Response:
        found = self._find(request)
        if isinstance(found, Response):
            return found
        name, params, offline = found
        docs = self._latest.documents(name, params.frame)
        if docs is None:
            return _not_held(name, params)
        doc = {"stream": docs.stream, "frame": docs.frame, "timestamp": docs.timestamp, "offline": offline}
        doc["results"] = docs.documents()
        return json_response(200, doc, _headers(docs, offline))

    async def mjpeg(self, request: Request) -> Response:
        name = request.path_params["stream"]
        if name not in self._states.get().streams:
            return message(404, f"no stream named {name!r}")
        try:
            params = parse_picture(request.query_params)
        except PictureParamError as exc:
            return message(400, str(exc))
        if params.frame is not None:
            return message(400, "frame: not a parameter of the live stream")
        hub = self._hub
        encoder = hub.join(name, params)
        if encoder is None:
            return message(503, "too many viewers of the live streams; try again later", {"Retry-After": "5"})

        monitor = self._monitor

        async def parts_of() -> AsyncIterator[bytes]:
            last = -1
            try:
                while True:
                    picture = await run_in_threadpool(encoder.next, last, 1.0)
                    monitor.pace()  # keeps the encoder's pace current while only MJPEG viewers watch
                    monitor.cpu.sample()
                    if picture is None:
                        continue
                    last = picture.frame
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(picture.jpeg)}\r\n"
                    yield (head + f"X-Edge-Frame: {picture.frame}\r\n\r\n").encode() + picture.jpeg + b"\r\n"
            finally:
                hub.leave(name, params, encoder)

        media = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        return StreamingResponse(parts_of(), 200, {"Cache-Control": "no-store"}, media_type=media)

    def _find(self, request: Request) -> tuple[str, PictureParams, bool] | Response:
        """The stream asked for, the parameters, and whether the stream is down; or the error."""
        name = request.path_params["stream"]
        snap = self._states.get()
        stream = snap.streams.get(name)
        if stream is None:
            return message(404, f"no stream named {name!r}; streams: {', '.join(sorted(snap.streams)) or 'none'}")
        try:
            params = parse_picture(request.query_params)
        except PictureParamError as exc:
            return message(400, str(exc))
        return name, params, stream.state not in _UP


def _not_held(name: str, params: PictureParams) -> Response:
    what = f"frame {params.frame} is no longer held" if params.frame is not None else "no frame yet"
    return message(404, f"stream {name}: {what}")


def _headers(held: LatestFrame | LatestDocuments, offline: bool) -> dict[str, str]:
    headers = {
        "X-Edge-Frame": str(held.frame),
        "X-Edge-Timestamp": f"{held.timestamp:.6f}",
        "Cache-Control": "no-store",
    }
    if offline:
        headers["X-Edge-Offline"] = "1"
    return headers
