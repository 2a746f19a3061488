"""The HTTP server on its own thread (uvicorn with h11), started and stopped by the daemon.

uvicorn runs its event loop on this thread; it installs no signal handlers off the main
thread, so the daemon keeps owning SIGINT/SIGTERM and stops the server before it drains.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping

import uvicorn
from prometheus_client import CollectorRegistry

from edge.errors import EdgeError
from edge.serve.app import AppParts, ServePipeline, build_app
from edge.serve.config import HttpConfig
from edge.serve.exposure import is_loopback
from edge.serve.metrics import Publisher
from edge.serve.models import ServedModel

log = logging.getLogger("edge.serve")
# The server's thread (and the threads it starts: image decoding) runs this much nicer than the
# pipeline: on a device whose CPU is saturated, the cameras' capture and inference get more of it.
HTTP_NICE = 4  # CFS weight 423 against 1024: about 30 % of a contended core, so 503s stay quick


def lower_priority(nice: int) -> None:
    """Raise this thread's nice value by ``nice`` (Linux: per thread; needs no privilege)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (OSError, AttributeError):  # not Linux, or not allowed: same priority as the rest
        pass


class HttpServer:
    def __init__(
        self,
        config: HttpConfig,
        pipeline: ServePipeline,
        models: Mapping[str, ServedModel],
        publisher: Publisher,
        registry: CollectorRegistry,
        edge_config: object | None = None,
        engines: Callable[[], Mapping[str, object]] | None = None,  # TensorRT engine reports, for /api/status
    ) -> None:
        keys = config.resolve_keys()
        parts = AppParts(config, keys, pipeline, models, publisher, registry, edge_config, engines=engines)
        app = build_app(parts)
        self._closers = parts.closers
        self._config = config
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=config.host,
                port=config.port,
                http="h11",
                loop="asyncio",
                lifespan="off",
                access_log=False,  # a query string can hold an api_key: never log it
                log_level="warning",
                timeout_graceful_shutdown=2,
            )
        )
        self._thread = threading.Thread(target=self._run, name="edge-http", daemon=True)
        self.models = dict(models)

    def _run(self) -> None:
        lower_priority(HTTP_NICE)  # cameras first for the CPU too (its decode threads inherit it)
        self._server.run()

    @property
    def started(self) -> bool:
        return bool(self._server.started)

    @property
    def port(self) -> int:
        """The bound port (the configured one, or the one the system chose for port 0)."""
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return self._config.port

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise EdgeError(
                    f"http: cannot listen on {self._config.host}:{self._config.port} (in use, or not an address "
                    "of this machine); set http.host and http.port"
                )
            if time.monotonic() > deadline:
                raise EdgeError(f"http: the server did not start within {timeout:g} s")
            time.sleep(0.01)
        if self._config.allow_unauthenticated and not self._config.api_keys and not is_loopback(self._config.host):
            log.warning(
                "http: serving %s:%d with no API key (http.allow_unauthenticated): anyone who can reach the port "
                "can run the models",
                self._config.host,
                self.port,
            )
        ids = ", ".join(sorted(self.models)) or "none"
        log.info("http: serving the v1 route on %s:%d for %s", self._config.host, self.port, ids)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        for close in self._closers:  # after the requests that used them have ended
            close()
