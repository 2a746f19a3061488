"""The daemon's side of the server: its metrics sink, and starting it once the pipeline runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry

from edge.config import EdgeConfig
from edge.errors import EdgeError
from edge.messages import Sink
from edge.models import ModelSpec
from edge.publish.mqtt import MqttSink, PublisherStats
from edge.serve.app import ServePipeline
from edge.serve.metrics import LatencySink
from edge.serve.models import ServedModel, model_id_of, served_models
from edge.serve.server import HttpServer


class DaemonServer:
    """Made before the pipeline (its :attr:`sink` goes with the others), started after it."""

    def __init__(self, config: EdgeConfig, sinks: Sequence[Sink]) -> None:
        if config.http is None:
            raise EdgeError("the config has no http: section")
        self.http = config.http
        self._config = config
        self.registry = CollectorRegistry()
        self.sink = LatencySink(self.registry)
        self._mqtt = next((s for s in sinks if isinstance(s, MqttSink)), None)
        self.server: HttpServer | None = None

    def served(self, specs: Mapping[str, ModelSpec]) -> dict[str, ServedModel]:
        explicit = dict(self.http.model_ids)
        ids = {
            m.name: model_id_of(
                m.name,
                explicit.get(m.name) or getattr(m, "model_id", None),
                m.hosted.model_id if m.hosted else None,
            )
            for m in self._config.models.values()
        }
        return served_models(ids, specs)

    def publisher(self) -> PublisherStats | None:
        return self._mqtt.counters() if self._mqtt is not None else None

    def start(
        self,
        pipeline: ServePipeline,
        specs: Mapping[str, ModelSpec],
        engines: Callable[[], Mapping[str, object]] | None = None,
    ) -> HttpServer:
        self.server = HttpServer(
            self.http,
            pipeline,
            self.served(specs),
            self.publisher,
            self.registry,
            edge_config=self._config,
            engines=engines,
        )
        self.server.start()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
