"""The ASGI app: the v1 route, ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from edge.serve.config import HttpConfig
from edge.serve.drain import DrainUnreadBody
from edge.serve.hostcheck import HostCheck
from edge.serve.limits import DecodeGate
from edge.serve.metrics import PipelineCollector, Publisher, StatsSource, request_counter
from edge.serve.models import ServedModel
from edge.serve.routes import V1Route, json_response
from edge.serve.submit import RequestPipeline, Submitter


class ServePipeline(RequestPipeline, StatsSource, Protocol):
    """What the server needs of :class:`edge.pipeline.Pipeline`."""

    def waiting_models(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class AppParts:
    config: HttpConfig
    keys: frozenset[str]
    pipeline: ServePipeline
    models: Mapping[str, ServedModel]  # by model_id
    publisher: Publisher  # the MQTT publisher's counters; None when MQTT is not configured
    registry: CollectorRegistry
    edge_config: object | None = None  # the daemon's EdgeConfig, for /api/config (edge.web)
    engines: Callable[[], Mapping[str, object]] | None = None  # engine reports by model, for /api/status
    started: float = field(default_factory=time.time)
    # What to call when the server stops (the web routes' picture threads); run by HttpServer.stop.
    closers: list[Callable[[], None]] = field(default_factory=list)


def readiness(pipeline: ServePipeline, publisher: Publisher) -> list[str]:
    """Why the device is not ready: models not attached (with their reason), broker down."""
    reasons = []
    for name, state in sorted(pipeline.snapshot().models.items()):
        if not (state == "ready" or state == "idle" or state.startswith("error")):
            reasons.append(f"model {name}: {state}")
    stats = publisher()
    if stats is not None and not stats.connected:
        reasons.append("mqtt: not connected to the broker")
    return reasons


def build_app(parts: AppParts) -> Starlette:
    count = request_counter(parts.registry)
    parts.registry.register(PipelineCollector(parts.pipeline, parts.publisher))
    route = V1Route(
        parts.keys,
        dict(parts.models),
        Submitter(parts.pipeline, parts.config.max_wait, parts.config.max_queue),
        lambda model, status: count.labels(model, str(status)).inc(),
        DecodeGate(parts.config.max_pixels, parts.config.max_decodes),
        parts.config.image_urls,
    )

    async def healthz(request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    async def readyz(request: Request) -> Response:
        reasons = readiness(parts.pipeline, parts.publisher)
        models = {m.model_id: m.name for m in parts.models.values()}
        return json_response(503 if reasons else 200, {"ready": not reasons, "reasons": reasons, "models": models})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(parts.registry), 200, media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    routes += _web_routes(parts)  # before the v1 route, whose /{project}/{version} would take /api/...
    routes.append(Route("/{project}/{version}", _endpoint(route), methods=["POST", "GET"]))
    # Refusals reach clients that send the whole body before reading (edge/serve/drain.py).
    middleware = [Middleware(DrainUnreadBody)]
    if not parts.keys:  # no key to check: refuse host names a DNS-rebinding page would send
        middleware.append(Middleware(HostCheck, names=frozenset(parts.config.hosts)))
    return Starlette(routes=routes, middleware=middleware)


def _endpoint(route: V1Route) -> Callable[[Request], object]:
    async def v1(request: Request) -> Response:
        return await route(request)

    return v1


def _web_routes(parts: AppParts) -> list[Route]:
    """The device endpoints of :mod:`edge.web`, for a pipeline that keeps its latest frames."""
    from edge.pipeline.latest import LatestFrames
    from edge.web.routes import WebParts, web_routes

    if not isinstance(getattr(parts.pipeline, "latest", None), LatestFrames):
        return []
    pipeline: Any = parts.pipeline  # it has ``latest``, checked above: a WebPipeline
    web = WebParts(
        parts.keys, pipeline, parts.publisher, parts.edge_config, parts.started, parts.engines, parts.closers.append
    )
    return web_routes(web)
