"""``GET /metrics``: the daemon's numbers in Prometheus' text format, via prometheus_client.

Counters the pipeline already keeps (frames per stream, model states, batch sizes and
inference times, the MQTT spool) are read at scrape time by :class:`PipelineCollector`, so
nothing is counted twice and a scrape costs nothing between scrapes. Two things exist only
here: per-stream end-to-end latency (a :class:`LatencySink` on the pipeline's results) and
the HTTP requests answered, by model and status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from edge.messages import ResultMessage, Sink, StatsSnapshot
from edge.pipeline.batches import INFER_BUCKETS, BatchSnapshot
from edge.pipeline.stats import StreamHealth
from edge.publish.mqtt import PublisherStats

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StatsSource(Protocol):
    def snapshot(self) -> StatsSnapshot: ...

    def batch_stats(self) -> dict[str, BatchSnapshot]: ...

    def hosted_requests(self) -> dict[tuple[str, str], int]: ...


Publisher = Callable[[], PublisherStats | None]


class LatencySink(Sink):
    """Observes each result's capture-to-publish latency, per stream and model."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.histogram = Histogram(
            "edge_stream_latency_seconds",
            "Capture to publish, per result",
            ["stream", "model", "source"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def publish(self, message: ResultMessage) -> None:
        seconds = sum(message.latency.values())
        self.histogram.labels(message.stream, message.model, message.source.value).observe(seconds)


def request_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "edge_http_requests", "v1 route requests answered, by model and status", ["model", "status"], registry=registry
    )


class PipelineCollector(Collector):
    def __init__(self, pipeline: StatsSource, publisher: Publisher) -> None:
        self._pipeline = pipeline
        self._publisher = publisher

    def collect(self) -> Iterator[Metric]:
        snap = self._pipeline.snapshot()
        yield from _streams(snap)
        yield from _models(snap, self._pipeline.batch_stats())
        yield from _tracking(snap)
        hosted = CounterMetricFamily(
            "edge_hosted_requests", "Hosted-fallback requests by model and HTTP status", labels=["model", "status"]
        )
        for (model, status), n in sorted(self._pipeline.hosted_requests().items()):
            hosted.add_metric([model, status], n)
        yield hosted
        stats = self._publisher()
        if stats is not None:
            yield from _publisher(stats)


_ROUTE_COUNTS = (
    ("offered", "edge_stream_frames", "Frames read and handed to a model, per stream and model"),
    ("inferred", "edge_stream_inferred", "Frames answered (locally or by the hosted API)"),
    ("dropped", "edge_stream_dropped", "Frames not inferred because the model was busy or gone"),
    ("errors", "edge_stream_errors", "Frames local and hosted inference failed on"),
    ("hosted", "edge_stream_hosted", "Frames answered by the hosted fallback (of inferred)"),
)


def _streams(snap: StatsSnapshot) -> Iterator[Metric]:
    families = {key: CounterMetricFamily(name, doc, labels=["stream", "model"]) for key, name, doc in _ROUTE_COUNTS}
    read = CounterMetricFamily("edge_stream_frames_read", "Frames read from the source", labels=["stream"])
    depth = GaugeMetricFamily("edge_stream_queue_depth", "Frames waiting for the stream's models", labels=["stream"])
    for name, s in snap.streams.items():
        depth.add_metric([name], s.queue_depth)
        if not isinstance(s, StreamHealth):
            continue
        read.add_metric([name], s.frames_read)
        for model, counts in s.routes.items():
            for key, family in families.items():
                family.add_metric([name, model], counts.get(key, 0))
    yield read
    yield depth
    yield from families.values()


def _models(snap: StatsSnapshot, batches: dict[str, BatchSnapshot]) -> Iterator[Metric]:
    state = GaugeMetricFamily(
        "edge_model_state", "1 for the model's state: ready, idle, building, failed or error", labels=["model", "state"]
    )
    for name, text in snap.models.items():
        state.add_metric([name, text.split(":", 1)[0]], 1)
    yield state
    size = GaugeMetricFamily("edge_model_batch_size", "Images in the model's last batch", labels=["model"])
    images = CounterMetricFamily("edge_model_images", "Images inferred (streams and requests)", labels=["model"])
    infer = HistogramMetricFamily("edge_model_inference_seconds", "Backend time per batch", labels=["model"])
    for name, b in batches.items():
        size.add_metric([name], b.last_batch)
        images.add_metric([name], b.images)
        cumulative, buckets = 0, []
        for bound, count in zip((*INFER_BUCKETS, float("inf")), b.infer_buckets):
            cumulative += count
            buckets.append((_bound(bound), cumulative))
        infer.add_metric([name], buckets, b.infer_seconds_sum)
    yield size
    yield images
    yield infer


def _tracking(snap: StatsSnapshot) -> Iterator[Metric]:
    """Per tracked stream, from the stats snapshot (edge.tracking.stream.TrackingStats)."""
    labels = ["stream"]
    mean = GaugeMetricFamily("edge_tracking_update_seconds", "Mean tracker time per tracked result", labels=labels)
    last = GaugeMetricFamily("edge_tracking_update_seconds_last", "Tracker time of the last result", labels=labels)
    active = GaugeMetricFamily("edge_tracking_active_tracks", "Confirmed tracks alive now", labels=labels)
    tracked = CounterMetricFamily("edge_tracking_results", "Results that went through the tracker", labels=labels)
    late = CounterMetricFamily(
        "edge_tracking_late", "Results too late for the reorder window (untracked)", labels=labels
    )
    for name, t in snap.tracking.items():
        mean.add_metric([name], float(t.get("update_s_mean", 0.0)))
        last.add_metric([name], float(t.get("update_s_last", 0.0)))
        active.add_metric([name], float(t.get("active_tracks", 0)))
        tracked.add_metric([name], float(t.get("tracked", 0)))
        late.add_metric([name], float(t.get("late", 0)))
    yield from (mean, last, active, tracked, late)


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)


def _publisher(stats: PublisherStats) -> Iterator[Metric]:
    yield GaugeMetricFamily("edge_mqtt_connected", "1 while the broker connection is up", value=int(stats.connected))
    yield GaugeMetricFamily("edge_spool_depth", "Results on disk waiting for the broker", value=stats.spooled)
    yield GaugeMetricFamily("edge_spool_bytes", "Size of the spool's files", value=stats.spool_bytes)
    yield CounterMetricFamily(
        "edge_spool_evictions", "Unsent results deleted to respect max_bytes", value=stats.evicted
    )
    yield CounterMetricFamily("edge_mqtt_published", "Results the broker acknowledged", value=stats.published)
