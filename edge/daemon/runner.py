"""One run of the daemon: open models and sinks, run the pipeline, drain and flush on stop.

The caller owns signals: it sets ``stop`` (a threading.Event) from its SIGINT/SIGTERM handler
and :meth:`Daemon.run` drains in-flight frames, publishes final stats and closes every sink
(which flushes what they accepted) before it returns; its SIGHUP handler calls
:meth:`Daemon.request_reload` (:mod:`edge.daemon.reload`). systemd's watchdog is answered only
while :mod:`edge.daemon.watchdog` sees every model and sink progressing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edge.config import ConfigErrors, EdgeConfig, load_config
from edge.daemon.checks import untrackable_dropped
from edge.daemon.models import EngineSupport, Failed, ModelLoader, Ready, hosted_plans, tensorrt_support
from edge.daemon.reload import Reloader, ReloadPlan, files_changed, plan_reload, stamps
from edge.daemon.watchdog import StallEpisodes, Watchdog
from edge.messages import Sink, StatsSnapshot
from edge.opencv_info import log_opencv_at_start
from edge.pipeline import Pipeline, StreamHealth
from edge.sources import SourceState, open_capture
from edge.sources.source import Opener
from edge.systemd import Notifier

if TYPE_CHECKING:
    from edge.pipeline.latest import LatestFrames
    from edge.serve.daemon import DaemonServer

log = logging.getLogger("edge.daemon")


@dataclass(frozen=True)
class RunSummary:
    """How a run went. ``reason``: "duration", "signal", "ended" (every source ended) or
    "stalled" (a model or sink stopped progressing, with ``exit_on_stall``)."""

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
        return self.clean and not self.failed_streams and not self.failed_models and self.reason != "stalled"


@dataclass(frozen=True)
class ReloadOutcome:
    """One reload: ``applied`` False when the new config was refused (the old one runs on);
    ``lines`` the errors or problems met, one per line."""

    applied: bool
    lines: tuple[str, ...] = ()
    plan: ReloadPlan | None = None


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
        exit_on_stall: bool = False,
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
        self._exit_on_stall = exit_on_stall
        self._reload_requested = threading.Event()
        self._stamps = stamps(config)
        self.reloads: list[ReloadOutcome] = []  # appended once each reload is done
        self.http: DaemonServer | None = None  # the v1 route and metrics server, with http:

    def request_reload(self) -> None:
        """Re-read the config file at the next tick (safe from a signal handler)."""
        self._reload_requested.set()

    def run(self, stop: threading.Event, duration: float | None = None) -> RunSummary:
        """Run until ``stop`` is set, ``duration`` seconds pass or every source has ended."""
        t0 = time.monotonic()
        notifier = Notifier()
        log_opencv_at_start()
        opened = self._loader.open()
        self._failed_models = dict(opened.failed)
        sinks: list[Sink] = []
        clean = True
        pipeline: Pipeline | None = None
        try:
            sinks = self._sinks(self.config) + self._extra_sinks
            if self.config.http is not None:
                from edge.serve.daemon import DaemonServer  # the server library loads only here

                self.http = DaemonServer(self.config, sinks)
                sinks.append(self.http.sink)
            hosted = hosted_plans(list(self.config.models.values()), opened.specs, self.config.state_dir)
            pipeline = Pipeline(
                untrackable_dropped(self.config, opened.specs),
                opened.runners,
                sinks,
                opened.failed,
                self._opener,
                pending=opened.pending,
                hosted=hosted,
                requests=self.config.http.max_queue if self.config.http else 0,
                tracking_dir=self.config.state_dir / "tracking",
            )
            self.pipeline = pipeline
            pipeline.start()
            if self.http is not None:
                try:
                    self.http.start(pipeline, opened.specs, self._loader.engine_reports)
                except BaseException:
                    pipeline.stop(drain=False, timeout=self._drain_timeout)
                    raise
            self.started.set()
            waiting = f", {len(opened.pending)} waiting for engines" if opened.pending else ""
            notifier.ready(f"{len(self.config.streams)} streams, {len(opened.runners)} models{waiting}")
            reason = self._serve(pipeline, stop, duration, notifier)
            notifier.stopping(f"stopping ({reason}): draining")
            if self.http is not None:
                self.http.stop()  # answer no new requests; those queued drain with the frames
            log.info("stopping (%s): draining in-flight frames", reason)
            # A stalled worker would hold the drain for its whole timeout: give up on it sooner.
            drain = reason != "stalled"
            clean = pipeline.stop(drain=drain, timeout=self._drain_timeout if drain else 2.0)
            final = pipeline.snapshot()
            if drain:  # a stuck sink holds the fanout: the final stats would wait behind it
                pipeline.fanout.publish_stats(final)
        finally:
            clean = self._close(pipeline.fanout.sinks if pipeline is not None else sinks, clean) and clean
            notifier.close()
        return self._summary(reason, time.monotonic() - t0, final, self._failed_models, clean)

    def _serve(self, pipeline: Pipeline, stop: threading.Event, duration: float | None, notifier: Notifier) -> str:
        interval = self._stats_interval
        deadline = None if duration is None else time.monotonic() + duration
        next_stats = time.monotonic() + interval
        tick = min(1.0, interval, notifier.watchdog_interval or 1.0)
        health = StallEpisodes(Watchdog(self.config.watchdog.stall))
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return "duration"
            if pipeline.idle() and self.http is None:  # a server runs until stopped
                return "ended"
            self._models_changed(pipeline)
            if now >= next_stats:
                snap = pipeline.snapshot()
                pipeline.fanout.publish_stats(snap)
                stall = health.current  # while stalled the status line keeps saying so
                notifier.status(_status_line(snap) if stall is None else stall.describe(time.monotonic()))
                _log_stats(snap)
                next_stats = now + interval
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self._reload(pipeline, notifier, health)
            if not self._check_health(pipeline, notifier, health):
                return "stalled"
            wait = tick if deadline is None else max(0.0, min(tick, deadline - now))
            if stop.wait(wait):
                return "signal"

    def _check_health(self, pipeline: Pipeline, notifier: Notifier, health: StallEpisodes) -> bool:
        """Ping systemd's watchdog while everything progresses; False to stop (exit_on_stall)."""
        verdict = health.tick(pipeline.worker_progress(), pipeline.fanout.busy())
        if verdict.ping:
            notifier.watchdog()
        if verdict.started and verdict.stall is not None:
            line = verdict.stall.describe(time.monotonic())
            log.error("watchdog: %s; %s", line, "exiting" if self._exit_on_stall else "not answering the watchdog")
            notifier.status(line)
        elif verdict.ended:
            log.warning("watchdog: progressing again; answering the watchdog")
            notifier.status("progressing again")
        return verdict.ping or not self._exit_on_stall

    def _reload(self, pipeline: Pipeline, notifier: Notifier, health: StallEpisodes) -> None:
        """Re-read the config file; apply what changed, or keep the running config on an error."""
        path = self.config.path
        notifier.reloading("reloading the config")
        if path is None:
            log.error("reload: this daemon was not started from a config file; nothing to re-read")
            outcome = ReloadOutcome(False, ("this daemon was not started from a config file",))
        else:
            outcome = self._reload_from(path, pipeline, health, notifier)
        self.reloads.append(outcome)
        counts = f"{len(self.config.streams)} streams, {len(self.config.models)} models"
        notifier.ready(
            f"reloaded: {counts}" if outcome.applied else f"reload refused; running the old config ({counts})"
        )

    def _reload_from(self, path: Path, pipeline: Pipeline, health: StallEpisodes, notifier: Notifier) -> ReloadOutcome:
        try:
            new = load_config(path, check_files=True)
        except ConfigErrors as exc:
            for line in exc.lines:
                log.error("reload: %s", line)
            log.error("reload: the config has errors; the running config stays in effect")
            return ReloadOutcome(False, tuple(exc.lines))
        new_stamps = stamps(new)
        plan = plan_reload(self.config, new, files_changed(self._stamps, new_stamps))
        log.info("reload: %s", plan.describe())
        timeout = min(5.0, self._flush_timeout)
        reloader = Reloader(pipeline, self._loader, self._sinks, self._extra_sinks, timeout, notifier.watchdog)
        try:
            problems = reloader.apply(plan, self.config, new)
            from edge.homeassistant.wiring import reconfigure_sinks

            reconfigure_sinks(pipeline.fanout.sinks, new, self._loader.specs(), plan.streams_removed)
        except Exception as exc:  # a reload must never take the running daemon down
            log.exception("reload: failed part way")
            problems = [f"failed part way: {type(exc).__name__}: {exc}; restart the service to apply the rest"]
        for line in problems:
            log.error("reload: %s", line)
        self.config, self._stamps = new, new_stamps
        models = pipeline.snapshot().models  # which models failed, now: fixed, new or removed ones
        self._failed_models = {n: s.removeprefix("failed: ") for n, s in models.items() if s.startswith("failed: ")}
        if plan.watchdog_changed:
            health.watchdog.stall = new.watchdog.stall
        return ReloadOutcome(True, tuple(problems), plan)

    def _sinks(self, config: EdgeConfig) -> list[Sink]:
        """The config's sinks, with Home Assistant discovery sharing the MQTT sink's connection."""
        from edge.homeassistant.wiring import with_home_assistant

        return with_home_assistant(build_sinks(config), config, self._loader.specs(), self._latest)

    def _latest(self) -> LatestFrames | None:
        return self.pipeline.latest if self.pipeline is not None else None

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

    def _close(self, sinks: Sequence[Sink], threads_stopped: bool = True) -> bool:
        clean = True
        for sink in sinks:
            try:
                sink.close(self._flush_timeout)
            except Exception as exc:  # one sink failing to close must not keep the others open
                log.error("closing %s failed: %s", type(sink).__name__, exc)
                clean = False
        if threads_stopped:
            self._loader.close()
        else:  # a worker stuck inside a model must not have the model freed under it
            log.warning("models left open: some worker threads did not stop")
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
    for name, t in snap.tracking.items():
        log.info(
            "stream %s: tracking %s active tracks, %.2f ms per result",
            name,
            t.get("active_tracks", 0),
            float(t.get("update_s_mean", 0.0)) * 1000,
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
