"""``/api/streams``, ``/api/status``, ``/api/config`` and each stream's ``latest.jpg`` / ``latest.json``."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Protocol, overload

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from edge import __version__
from edge.messages import StatsSnapshot
from edge.pipeline.latest import LatestDocuments, LatestFrame, LatestFrames
from edge.serve.metrics import Publisher
from edge.serve.routes import UNAUTHORIZED, json_response, message
from edge.web.jpegcache import JpegCache
from edge.web.mjpeg import BOUNDARY, MjpegHub
from edge.web.pages import page_info, page_routes
from edge.web.params import PictureParamError, PictureParams, parse_picture
from edge.web.redact import plain
from edge.web.session import Sessions, web_authorized

_UP = ("running", "starting")  # a stream in any other state is down: its last frame is marked offline
STATES_MAX_AGE = 0.5  # seconds a picture request may use an earlier request's stream states


class _States:
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


class WebPipeline(Protocol):
    latest: LatestFrames

    def snapshot(self) -> StatsSnapshot: ...


@dataclass(frozen=True)
class WebParts:
    keys: frozenset[str]
    pipeline: WebPipeline
    publisher: Publisher
    config: object | None  # the effective EdgeConfig; None when the server was started without one
    started: float  # time.time() at start
    engines: Callable[[], Mapping[str, object]] | None = None  # TensorRT engine reports (dataclasses) by model


Handler = Callable[[Request], Awaitable[Response]]


def web_routes(parts: WebParts) -> list[Route]:
    pictures = JpegCache()
    states = _States(parts.pipeline)
    hub = MjpegHub(parts.pipeline.latest, render=pictures.get)
    sessions = Sessions()
    info = page_info(parts.config)

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if not web_authorized(request, parts.keys, sessions):
                return message(401, UNAUTHORIZED)
            return await handler(request)

        return endpoint

    async def streams(request: Request) -> Response:
        snap = states.fresh()
        doc = {
            name: {"state": s.state, "models": {m: snap.models.get(m, "unknown") for m in _models(s)}}
            for name, s in snap.streams.items()
        }
        return json_response(200, {"streams": doc})

    async def status(request: Request) -> Response:
        doc = states.fresh().to_payload()
        stats = parts.publisher()
        doc["publisher"] = asdict(stats) if stats is not None else None
        doc["spool_depth"] = stats.spooled if stats is not None else None
        doc["uptime"] = round(time.time() - parts.started, 1)
        doc["mjpeg"] = {"viewers": hub.viewers, "encoders": hub.encoders}
        doc["engines"] = dict(parts.engines()) if parts.engines is not None else {}
        doc["pictures_encoded"] = pictures.encoded  # latest.jpg and MJPEG pictures drawn and encoded
        doc["device"] = {"id": info.device, "version": __version__, "backend": info.backend}
        return json_response(200, plain(doc))

    async def config(request: Request) -> Response:
        if parts.config is None:
            return message(404, "this server was started without a config file")
        return json_response(200, plain(parts.config))

    async def latest_jpg(request: Request) -> Response:
        found = _latest(request)
        if isinstance(found, Response):
            return found
        held, params, offline = found
        recent = pictures.recent(held.stream, params) if params.frame is None else None
        if recent is not None:  # encoded moments ago for another poller: that frame, no new encode
            held, jpeg = recent
        else:
            jpeg = await run_in_threadpool(pictures.get, held, params)
        return Response(jpeg, 200, _headers(held, offline), media_type="image/jpeg")

    async def latest_json(request: Request) -> Response:
        found = _latest(request, documents=True)
        if isinstance(found, Response):
            return found
        held, _, offline = found
        doc = {"stream": held.stream, "frame": held.frame, "timestamp": held.timestamp, "offline": offline}
        doc["results"] = held.documents()
        return json_response(200, doc, _headers(held, offline))

    async def mjpeg(request: Request) -> Response:
        name = request.path_params["stream"]
        if name not in states.get().streams:
            return message(404, f"no stream named {name!r}")
        try:
            params = parse_picture(request.query_params)
        except PictureParamError as exc:
            return message(400, str(exc))
        if params.frame is not None:
            return message(400, "frame: not a parameter of the live stream")
        encoder = hub.join(name, params)
        if encoder is None:
            return message(503, "too many viewers of the live streams; try again later", {"Retry-After": "5"})

        async def parts_of() -> AsyncIterator[bytes]:
            last = -1
            try:
                while True:
                    picture = await run_in_threadpool(encoder.next, last, 1.0)
                    if picture is None:
                        continue
                    last = picture.frame
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(picture.jpeg)}\r\n"
                    yield (head + f"X-Edge-Frame: {picture.frame}\r\n\r\n").encode() + picture.jpeg + b"\r\n"
            finally:
                hub.leave(name, params, encoder)

        media = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        return StreamingResponse(parts_of(), 200, {"Cache-Control": "no-store"}, media_type=media)

    @overload
    def _latest(request: Request) -> tuple[LatestFrame, PictureParams, bool] | Response: ...
    @overload
    def _latest(
        request: Request, documents: bool
    ) -> tuple[LatestFrame | LatestDocuments, PictureParams, bool] | Response: ...

    def _latest(
        request: Request, documents: bool = False
    ) -> tuple[LatestFrame | LatestDocuments, PictureParams, bool] | Response:
        """The held frame asked for (``documents``: or its results alone, the image gone)."""
        name = request.path_params["stream"]
        snap = states.get()
        stream = snap.streams.get(name)
        if stream is None:
            return message(404, f"no stream named {name!r}; streams: {', '.join(sorted(snap.streams)) or 'none'}")
        try:
            params = parse_picture(request.query_params)
        except PictureParamError as exc:
            return message(400, str(exc))
        latest = parts.pipeline.latest
        held = latest.documents(name, params.frame) if documents else latest.get(name, params.frame)
        if held is None:
            what = f"frame {params.frame} is no longer held" if params.frame is not None else "no frame yet"
            return message(404, f"stream {name}: {what}")
        return held, params, stream.state not in _UP

    return [
        *page_routes(parts.keys, sessions, info),
        Route("/api/streams", guarded(streams), methods=["GET"]),
        Route("/api/status", guarded(status), methods=["GET"]),
        Route("/api/config", guarded(config), methods=["GET"]),
        Route("/api/streams/{stream}/latest.jpg", guarded(latest_jpg), methods=["GET"]),
        Route("/api/streams/{stream}/latest.json", guarded(latest_json), methods=["GET"]),
        Route("/api/streams/{stream}/mjpeg", guarded(mjpeg), methods=["GET"]),
    ]


def _models(stream: object) -> list[str]:
    routes = getattr(stream, "routes", None)
    return sorted(routes) if isinstance(routes, dict) else []


def _headers(held: LatestFrame | LatestDocuments, offline: bool) -> dict[str, str]:
    headers = {
        "X-Edge-Frame": str(held.frame),
        "X-Edge-Timestamp": f"{held.timestamp:.6f}",
        "Cache-Control": "no-store",
    }
    if offline:
        headers["X-Edge-Offline"] = "1"
    return headers
