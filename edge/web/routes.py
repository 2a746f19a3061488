"""``/api/streams``, ``/api/status``, ``/api/config``, the device page and each stream's pictures."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge import __version__
from edge.serve.metrics import Publisher
from edge.serve.routes import UNAUTHORIZED, json_response, message
from edge.web.jpegcache import JpegCache
from edge.web.load import LoadMonitor, WebCpu
from edge.web.mjpeg import MjpegHub
from edge.web.pages import page_info, page_routes
from edge.web.priority import picture_executor
from edge.web.redact import plain
from edge.web.session import Sessions, web_authorized
from edge.web.streams import States, StreamPictures, WebPipeline

__all__ = ["WebParts", "WebPipeline", "web_routes"]


@dataclass(frozen=True)
class WebParts:
    keys: frozenset[str]
    pipeline: WebPipeline
    publisher: Publisher
    config: object | None  # the effective EdgeConfig; None when the server was started without one
    started: float  # time.time() at start
    engines: Callable[[], Mapping[str, object]] | None = None  # TensorRT engine reports (dataclasses) by model
    on_close: Callable[[Callable[[], None]], None] | None = None  # registers what to release when the server stops


Handler = Callable[[Request], Awaitable[Response]]


def web_routes(parts: WebParts) -> list[Route]:
    pictures = JpegCache()
    states = States(parts.pipeline)
    cpu = WebCpu()
    monitor = LoadMonitor(states.get, lambda: _infer_seconds(parts.pipeline), cpu)
    hub = MjpegHub(parts.pipeline.latest, render=pictures.get, rate=lambda: monitor.current.mjpeg_fps, cpu=cpu)
    executor = picture_executor(cpu)
    if parts.on_close is not None:
        parts.on_close(lambda: executor.shutdown(wait=False, cancel_futures=True))
    streams_of = StreamPictures(parts.pipeline.latest, states, pictures, hub, monitor, executor)
    sessions = Sessions()
    info = page_info(parts.config)

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                if not web_authorized(request, parts.keys, sessions):
                    return message(401, UNAUTHORIZED)
                return await handler(request)
            finally:
                cpu.sample()  # the HTTP loop's CPU (this request and what ran since the last)

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
        pace, signals = monitor.pace(), monitor.signals
        doc["pace"] = {**pace.payload(), **{k: round(v, 4) for k, v in asdict(signals).items()}}
        doc["pace"]["web_cpu_seconds"] = round(cpu.seconds, 4)
        doc["device"] = {"id": info.device, "version": __version__, "backend": info.backend}
        return json_response(200, plain(doc))

    async def config(request: Request) -> Response:
        if parts.config is None:
            return message(404, "this server was started without a config file")
        return json_response(200, plain(parts.config))

    return [
        *page_routes(parts.keys, sessions, info),
        Route("/api/streams", guarded(streams), methods=["GET"]),
        Route("/api/status", guarded(status), methods=["GET"]),
        Route("/api/config", guarded(config), methods=["GET"]),
        Route("/api/streams/{stream}/latest.jpg", guarded(streams_of.latest_jpg), methods=["GET"]),
        Route("/api/streams/{stream}/latest.json", guarded(streams_of.latest_json), methods=["GET"]),
        Route("/api/streams/{stream}/mjpeg", guarded(streams_of.mjpeg), methods=["GET"]),
    ]


def _infer_seconds(pipeline: WebPipeline) -> dict[str, float]:
    return {name: b.infer_seconds_sum for name, b in pipeline.batch_stats().items()}


def _models(stream: object) -> list[str]:
    routes = getattr(stream, "routes", None)
    return sorted(routes) if isinstance(routes, dict) else []
