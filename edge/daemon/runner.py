"""One run of the daemon: open models and sinks, run the pipeline, drain and flush on stop.

The caller owns signals: it sets ``stop`` (a threading.Event) from its SIGINT/SIGTERM handler
and :meth:`Daemon.run` drains in-flight frames, publishes final stats and closes every sink
(which flushes what they accepted) before it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from edge.config import EdgeConfig
from edge.daemon.models import EngineSupport, Failed, ModelLoader, Ready, hosted_plans, tensorrt_support
from edge.messages import Sink, StatsSnapshot
from edge.pipeline import Pipeline, StreamHealth
from edge.sources import SourceState, open_capture
from edge.sources.source import Opener
from edge.systemd import Notifier

log = logging.getLogger("edge.daemon")


@dataclass(frozen=True)
class RunSummary:
    """How a run went. ``reason``: "duration", "signal" or "ended" (every source ended)."""

    reason: str
    seconds: float
    streams: dict[str, StreamHealth]
    models: dict[str, str]
    failed_streams: tuple[str, ...] = ()
    failed_models: tuple[str, ...] = ()
    clean: bool = True  # every thread stopped and every sink closed in time
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.clean and not self.failed_streams and not self.failed_models


def build_sinks(config: EdgeConfig) -> list[Sink]:
    sinks: list[Sink] = []
    if config.mqtt is not None:
        from edge.publish.config import SpoolConfig
        from edge.publish.mqtt import MqttSink

        spool = config.spool or SpoolConfig(config.state_dir / "spool")
        sinks.append(MqttSink(config.mqtt, spool))
    if config.console:
        from edge.publish.console import ConsoleSink

        sinks.append(ConsoleSink())
    return sinks


class Daemon:
    def __init__(
        self,
        config: EdgeConfig,
        extra_sinks: Sequence[Sink] = (),
        opener: Opener = open_capture,
        drain_timeout: float = 15.0,
        flush_timeout: float = 10.0,
        stats_interval: float | None = None,
        engine_support: Callable[[], EngineSupport] | None = None,
    ) -> None:
        self.config = config
        self._extra_sinks = list(extra_sinks)
        self._opener = opener
        self._drain_timeout = drain_timeout
        self._flush_timeout = flush_timeout
        self._stats_interval = stats_interval or config.stats_interval
        self.pipeline: Pipeline | None = None
        self.started = threading.Event()
        self._engine_support = engine_support or (lambda: tensorrt_support(config.engines_dir))
        self._loader = ModelLoader(list(config.models.values()), self._engine_support)
        self._failed_models: dict[str, str] = {}

    def run(self, stop: threading.Event, duration: float | None = None) -> RunSummary:
        """Run until ``stop`` is set, ``duration`` seconds pass or every source has ended."""
        t0 = time.monotonic()
        notifier = Notifier()
        opened = self._loader.open()
        self._failed_models = dict(opened.failed)
        sinks: list[Sink] = []
        clean = True
        try:
            sinks = build_sinks(self.config) + self._extra_sinks
            hosted = hosted_plans(list(self.config.models.values()), opened.specs, self.config.state_dir)
            pipeline = Pipeline(
                self.config.streams,
                opened.runners,
                sinks,
                opened.failed,
                self._opener,
                pending=opened.pending,
                hosted=hosted,
            )
            self.pipeline = pipeline
            pipeline.start()
            self.started.set()
            waiting = f", {len(opened.pending)} waiting for engines" if opened.pending else ""
            notifier.ready(f"{len(self.config.streams)} streams, {len(opened.runners)} models{waiting}")
            reason = self._serve(pipeline, stop, duration, notifier)
            notifier.stopping(f"stopping ({reason}): draining")
            log.info("stopping (%s): draining in-flight frames", reason)
            clean = pipeline.stop(drain=True, timeout=self._drain_timeout)
            final = pipeline.snapshot()
            pipeline.fanout.publish_stats(final)
        finally:
            clean = self._close(sinks) and clean
            notifier.close()
        return self._summary(reason, time.monotonic() - t0, final, self._failed_models, clean)

    def _serve(self, pipeline: Pipeline, stop: threading.Event, duration: float | None, notifier: Notifier) -> str:
        interval = self._stats_interval
        deadline = None if duration is None else time.monotonic() + duration
        next_stats = time.monotonic() + interval
        tick = min(1.0, interval, notifier.watchdog_interval or 1.0)
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return "duration"
            if pipeline.idle():
                return "ended"
            self._models_changed(pipeline)
            if now >= next_stats:
                snap = pipeline.snapshot()
                pipeline.fanout.publish_stats(snap)
                notifier.status(_status_line(snap))
                _log_stats(snap)
                next_stats = now + interval
            notifier.watchdog()
            wait = tick if deadline is None else max(0.0, min(tick, deadline - now))
            if stop.wait(wait):
                return "signal"

    def _models_changed(self, pipeline: Pipeline) -> None:
        """Attach models whose engines became ready; give up on those whose build failed."""
        for change in self._loader.poll():
            if isinstance(change, Ready):
                pipeline.attach(change.runner)
            elif isinstance(change, Failed):
                self._failed_models[change.model] = change.reason
                pipeline.fail_model(change.model, change.reason)
            else:
                pipeline.set_pending(change.model, change.state)

    def _close(self, sinks: Sequence[Sink]) -> bool:
        clean = True
        for sink in sinks:
            try:
                sink.close(self._flush_timeout)
            except Exception as exc:  # one sink failing to close must not keep the others open
                log.error("closing %s failed: %s", type(sink).__name__, exc)
                clean = False
        self._loader.close()
        return clean

    def _summary(
        self, reason: str, seconds: float, final: StatsSnapshot, failed_models: dict[str, str], clean: bool
    ) -> RunSummary:
        streams = {n: s for n, s in final.streams.items() if isinstance(s, StreamHealth)}
        failed = tuple(n for n, s in streams.items() if s.state == SourceState.FAILED.value)
        return RunSummary(reason, seconds, streams, dict(final.models), failed, tuple(failed_models), clean)


def _status_line(snap: StatsSnapshot) -> str:
    parts = []
    for n, s in snap.streams.items():
        waiting = getattr(s, "waiting_for", None)
        wait = f", waiting for {', '.join(waiting)} (engine building)" if waiting else ""
        parts.append(f"{n}: {s.state} {s.fps_out:.1f} fps, dropped {s.dropped}{wait}")
    return "; ".join(parts)


def _log_stats(snap: StatsSnapshot) -> None:
    for name, s in snap.streams.items():
        log.info(
            "stream %s: %s, %.1f fps in, %.1f out, dropped %d, queue %d, latency p50 %.0f ms p95 %.0f ms",
            name,
            s.state,
            s.fps_in,
            s.fps_out,
            s.dropped,
            s.queue_depth,
            s.latency_p50 * 1000,
            s.latency_p95 * 1000,
        )
    for model, h in snap.hosted.items():
        left = "no daily_limit" if h.left_today is None else f"{h.left_today} left today"
        failed = ", ".join(f"{n} x {status}" for status, n in sorted(h.failed.items())) or "none failed"
        log.info(
            "model %s: hosted %s, breaker %s, %d sent, %d answered, %s, %s, %d B an upload",
            model,
            h.state,
            h.breaker,
            h.sent,
            h.answered,
            failed,
            left,
            h.upload_bytes_mean,
        )
