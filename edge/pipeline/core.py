"""The pipeline: a capture thread per stream, an inference worker per model, fan-out to sinks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from edge.errors import EdgeError
from edge.hosted.fallback import HostedFallback, HostedPlan
from edge.hosted.latency import RecentTime, predicted_latency
from edge.messages import ResultMessage, ResultSource, Sink, StatsSnapshot, StreamStats
from edge.pipeline.allocator import limit_malloc_arenas
from edge.pipeline.batches import BatchSnapshot, BatchStats
from edge.pipeline.blas import limit_blas_threads
from edge.pipeline.changes import PipelineChanges
from edge.pipeline.fanout import Fanout
from edge.pipeline.inbox import Inbox
from edge.pipeline.latest import LatestFrames
from edge.pipeline.outcomes import HostedOutcomes
from edge.pipeline.plan import StreamPlan as StreamPlan  # re-exported: edge.config imports it from here
from edge.pipeline.request import REQUEST_STREAM, InferenceRequest, RequestRefused
from edge.pipeline.stats import RouteCounts, StreamCounters, StreamHealth
from edge.pipeline.worker import ModelRunner, ModelWorker
from edge.sources import Frame, Source, SourceState, open_capture
from edge.sources.source import Opener
from edge.tracking.hub import TrackerFactory, TrackingHub, default_factory

log = logging.getLogger("edge.pipeline")


class Pipeline(PipelineChanges):
    """Runs streams through models into sinks. ``failed_models`` maps models that could not be
    loaded to their error: streams keep running their other models and stats report them.

    ``pending`` maps models that are not ready yet (a TensorRT engine still building) to their
    state. Their streams run and queue frames for them as for any model (a live stream keeps
    the newest and counts the rest as dropped; a file stream waits), until :meth:`attach`
    brings the model's runner, or :meth:`fail_model` gives up on it.

    ``hosted`` gives models a hosted-API fallback (:mod:`edge.hosted.fallback`): frames a
    pending model would queue, a live stream would drop, or local inference failed on are
    offered to it first, as its config allows, and counted under ``hosted`` when it answers.

    ``requests`` > 0 lets :meth:`submit` send requests (the HTTP server's) to every model, at
    most that many waiting per model; each model then has a worker even with no stream.
    """

    def __init__(
        self,
        streams: Sequence[StreamPlan],
        runners: Sequence[ModelRunner],
        sinks: Sequence[Sink],
        failed_models: Mapping[str, str] | None = None,
        opener: Opener = open_capture,
        file_queue: int = 2,
        pending: Mapping[str, str] | None = None,
        hosted: Mapping[str, HostedPlan] | None = None,
        requests: int = 0,
        tracking_dir: Path | None = None,
        tracker_factory: TrackerFactory = default_factory,
    ) -> None:
        self.fanout = Fanout(sinks)
        self.latest = LatestFrames()  # the newest frame and results per stream, for the picture endpoints
        # Results of tracked (stream, model) pairs go through their tracker on its own thread.
        plans_tracked = {p.name: p.tracking for p in streams if p.tracking is not None}
        self.tracking = TrackingHub(plans_tracked, tracking_dir, tracker_factory)
        self.tracking.bind(self.fanout.publish, self.fanout.publish_tracking, self._source_state)
        self.latest.underlay = self.tracking.underlay  # pictures of a tracked stream show its zones and lines
        self._file_queue = file_queue
        self._opener = opener
        self._requests = requests
        self._failed_models = dict(failed_models or {})
        self._runners = {r.name: r for r in runners}
        self._pending = dict(pending or {})
        self._plans = {p.name: p for p in streams}
        if len(self._plans) != len(streams):
            raise EdgeError("stream names must be unique")
        self._check_models()
        self._lock = threading.Lock()  # guards workers, pending and routes as models come and go
        self._counters: dict[str, StreamCounters] = {}
        # Replaced (never mutated) when a model fails late, so a deliverer reads it unlocked.
        self._routes: dict[str, tuple[str, ...]] = {}
        usable = set(self._runners) | set(self._pending)
        self._fallbacks = {m: self._make_fallback(m, h) for m, h in (hosted or {}).items() if m in usable}
        # Recent local time per frame of the models with a latency budget (hosted ``latency``).
        self._frame_time = {m: RecentTime() for m, f in self._fallbacks.items() if "latency" in f.config.when}
        self._inboxes = {name: Inbox(self._drop_hook(name), self._overflow_hook(name)) for name in usable}
        self._batches = {name: BatchStats() for name in usable}
        self._hosted_outcomes = HostedOutcomes()
        for inbox in self._inboxes.values() if requests > 0 else ():
            inbox.add_requests(requests)
        for plan in streams:
            routes = tuple(m for m in plan.models if m in usable)
            self._routes[plan.name] = routes
            self._counters[plan.name] = StreamCounters({m: RouteCounts() for m in routes})
            for m in routes:
                self._inboxes[m].add_stream(plan.name, plan.source.is_live, file_queue)
        used = {m for rs in self._routes.values() for m in rs} | (usable if requests > 0 else set())
        self._workers = {name: self._worker(r) for name, r in self._runners.items() if name in used}
        self._sources = {
            p.name: Source(p.source, self._deliverer(p.name), opener) for p in streams if self._routes[p.name]
        }
        self._settled = threading.Condition()
        self._started = False

    def _check_models(self) -> None:
        known = set(self._runners) | set(self._failed_models) | set(self._pending)
        for plan in self._plans.values():
            for m in plan.models:
                if m not in known:
                    raise EdgeError(f"stream {plan.name}: no model named {m!r}; define it under models")

    # -- wiring ------------------------------------------------------------------------

    def _worker(self, runner: ModelRunner) -> ModelWorker:
        name = runner.name
        return ModelWorker(
            runner,
            self._inboxes[name],
            self.tracking.publish,
            self._account,
            self._failed(name),
            self._batches[name].observe,
        )

    def _deliverer(self, stream: str) -> Callable[[Frame], bool]:
        counters = self._counters[stream]

        def deliver(frame: Frame) -> bool:
            routes = self._routes[stream]
            counters.offered(routes)
            self.latest.offer(frame, routes)
            accepted = True
            for model in routes:
                fallback = self._fallbacks.get(model)
                if fallback is not None and model in self._pending and self._offer_building(model, fallback, frame):
                    continue  # answered by the hosted API while the engine builds
                if fallback is not None and self._over_budget(model, frame) and fallback.offer(frame, "latency"):
                    continue  # the local result would come too late
                if not self._inboxes[model].put(frame):
                    counters.dropped(model, 1)
                    # Shutting down, unless this model alone was given up on meanwhile.
                    accepted = accepted and model in self._failed_models
            self._notify()
            return accepted

        return deliver

    def _drop_hook(self, model: str) -> Callable[[str, int], None]:
        def on_drop(stream: str, n: int) -> None:
            self._counters[stream].dropped(model, n)
            self._notify()

        return on_drop

    def _offer_building(self, model: str, fallback: HostedFallback, frame: Frame) -> bool:
        """Offer a frame for a model whose engine builds. A file's frame that the API cannot
        take yet (rate, queue) waits for whichever frees first, the API or the local queue."""
        inbox = self._inboxes[model]
        while model in self._pending:
            if fallback.offer(frame, "building"):
                return True
            if inbox.has_room(frame.stream):
                return False
            time.sleep(0.02)
        return False

    def _make_fallback(self, model: str, h: HostedPlan) -> HostedFallback:
        return HostedFallback(
            model,
            h.spec,
            h.config,
            h.client,
            h.params,
            self.tracking.publish,
            self._account,
            self._failed(model),
            h.state_dir,
            self.fanout.publish_notice,
            self._turned_away(model),
        )

    def _turned_away(self, model: str) -> Callable[[Frame], None]:
        """A frame the hosted fallback took but then could not send (breaker, limit, off) is
        handled as if never offered: a file's frame waits for the local model (a file loses
        nothing), a live one is dropped (newer frames have come since)."""

        def on_turned_away(frame: Frame) -> None:
            live = self._plans[frame.stream].source.is_live
            if live or not self._inboxes[model].put(frame):
                self._counters[frame.stream].dropped(model, 1)
            self._notify()

        return on_turned_away

    def _over_budget(self, model: str, frame: Frame) -> bool:
        """A live frame's predicted local latency passes its model's hosted ``max_latency``."""
        timing = self._frame_time.get(model)
        worker = self._workers.get(model)
        if timing is None or worker is None or not self._plans[frame.stream].source.is_live:
            return False
        inbox = self._inboxes[model]
        # The stream's own queued frame is the one this frame replaces, so not ahead of it.
        ahead = inbox.total() - inbox.depth(frame.stream)
        budget = self._fallbacks[model].config.max_latency or 0.0
        return predicted_latency(ahead, worker.in_flight, timing.value, worker.runner.instances) > budget

    def _overflow_hook(self, model: str) -> Callable[[Frame], bool]:
        def on_replace(frame: Frame) -> bool:
            fallback = self._fallbacks.get(model)
            return fallback is not None and fallback.offer(frame, "overflow")

        return on_replace

    def _failed(self, model: str) -> Callable[[Sequence[Frame], str], None]:
        def on_fail(frames: Sequence[Frame], message: str) -> None:
            fallback = self._fallbacks.get(model)
            if message.startswith("hosted:"):
                self._hosted_outcomes.failed(model, message, len(frames))
            for f in frames:
                local = not message.startswith("hosted:")  # a hosted failure is not offered again
                if not (local and fallback is not None and fallback.offer(f, "error")):
                    self._counters[f.stream].failed(model, 1)
            self._notify()

        return on_fail

    def _account(self, message: ResultMessage) -> None:
        hosted = message.source is ResultSource.HOSTED
        if hosted:
            self._hosted_outcomes.answered(message.model)
        timing = self._frame_time.get(message.model)
        if timing is not None and not hosted and isinstance(message.v1.get("time"), (int, float)):
            timing.add(float(message.v1["time"]))  # this frame's share of its batch's local work
        self._counters[message.stream].inferred(message.model, message.latency, hosted)
        self.latest.result(message)
        self._notify()

    def _source_state(self, stream: str) -> SourceState | None:
        src = self._sources.get(stream)
        return src.state if src is not None else None

    def _notify(self) -> None:
        with self._settled:
            self._settled.notify_all()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def sources(self) -> Mapping[str, Source]:
        return self._sources

    def attach(self, runner: ModelRunner) -> None:
        """Bring a pending model's runner: its worker starts on the frames queued for it."""
        with self._lock:
            if runner.name not in self._pending:
                raise EdgeError(f"model {runner.name} is not waiting to be attached")
            del self._pending[runner.name]
            self._runners[runner.name] = runner
            if not self._requests and not any(runner.name in rs for rs in self._routes.values()):
                return
            worker = self._worker(runner)
            self._workers[runner.name] = worker
            if self._started:
                worker.start()
        log.info("model %s: ready; its streams' frames are inferred from now on", runner.name)

    def set_pending(self, model: str, state: str) -> None:
        """Update what stats say about a model that is not ready yet."""
        with self._lock:
            if model in self._pending:
                self._pending[model] = state

    def fail_model(self, model: str, reason: str) -> None:
        """Give up on a pending model: its queued frames are counted as dropped, its streams
        keep their other models, and a stream left with none stops."""
        with self._lock:
            if self._pending.pop(model, None) is None:
                return
            self._failed_models[model] = reason
            orphaned = []
            for stream, routes in self._routes.items():
                if model in routes:
                    self._routes[stream] = tuple(m for m in routes if m != model)
                    if not self._routes[stream]:
                        orphaned.append(stream)
        self._inboxes[model].close(discard=True)
        for stream in orphaned:
            log.error("stream %s: none of its models can run; it stops", stream)
            if stream in self._sources:
                self._sources[stream].stop()
        self._notify()

    def waiting_models(self) -> dict[str, str]:
        """Pending models and their state."""
        with self._lock:
            return dict(self._pending)

    def start(self) -> None:
        if self._started:
            raise RuntimeError("the pipeline is already started")
        self._started = True
        limit_blas_threads(1)
        limit_malloc_arenas()
        for name, routes in self._routes.items():
            if not routes:
                log.error("stream %s: none of its models loaded; it does not run", name)
        self.tracking.start()
        with self._lock:
            workers = list(self._workers.values())
        for w in workers:
            w.start()
        for s in self._sources.values():
            s.start()

    def idle(self) -> bool:
        """Every source has ended or failed and every frame it read is accounted for."""
        if not all(s.state.terminal for s in self._sources.values()):
            return False
        for c in self._counters.values():
            with c.lock:
                if any(r.offered != r.inferred + r.dropped + r.errors for r in c.routes.values()):
                    return False
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._settled:
            while not self.idle():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                # Source state changes do not notify; a short timeout notices them.
                self._settled.wait(0.1 if left is None else min(0.1, left))
        return True

    def stop(self, drain: bool = True, timeout: float = 10.0) -> bool:
        """Stop reading; with ``drain``, infer and publish every frame already read.

        Returns False when a thread did not finish within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        for s in self._sources.values():
            s.stop()
        with self._lock:
            # No worker will take what waits for a model that never became ready: release
            # file sources blocked on it and count those frames as dropped.
            for model in self._pending:
                self._inboxes[model].close(discard=True)
            workers = list(self._workers.values())
        for s in self._sources.values():
            # A file source blocked on a full inbox finishes its put as the worker drains.
            s.join(max(0.0, deadline - time.monotonic()) / 2)
        for inbox in self._inboxes.values():
            inbox.close(discard=not drain)
        ok = all(s.join(max(0.0, deadline - time.monotonic())) for s in self._sources.values())
        for w in workers:
            ok = w.join(max(0.0, deadline - time.monotonic())) and ok
        for model, fallback in self._fallbacks.items():
            for f in fallback.close(max(0.0, deadline - time.monotonic()), drain):
                self._counters[f.stream].dropped(model, 1)  # queued, never sent
        ok = self.tracking.close(max(1.0, deadline - time.monotonic())) and ok  # what waited to be tracked
        if not ok:
            log.warning("pipeline: some threads did not stop within %.0f s", timeout)
        return ok

    # -- requests ----------------------------------------------------------------------

    def submit(self, model: str, request: InferenceRequest) -> None:
        """Queue a request for ``model``'s worker; raises :class:`RequestRefused` when it
        cannot be taken now. The answer arrives on ``request.reply``."""
        with self._lock:
            pending = self._pending.get(model)
            failed = self._failed_models.get(model)
            running = model in self._workers
        if pending is not None:
            raise RequestRefused(f"model {model} is not ready yet ({pending})", 503, 5.0)
        if failed is not None:
            raise RequestRefused(f"model {model} could not be loaded: {failed}", 503, None)
        if not running or not self._inboxes[model].submit(request):
            raise RequestRefused(f"model {model} is busy: {self._requests} requests already wait for it", 503, 1.0)
        self._notify()

    def withdraw(self, model: str, request: InferenceRequest) -> bool:
        """Take back a request no worker has taken yet (True), e.g. after waiting too long."""
        inbox = self._inboxes.get(model)
        return inbox is not None and inbox.withdraw(request)

    def requests_waiting(self) -> dict[str, int]:
        """Per model: requests queued, not yet taken by its worker."""
        return {name: inbox.depth(REQUEST_STREAM) for name, inbox in self._inboxes.items()} if self._requests else {}

    def hosted_requests(self) -> dict[tuple[str, str], int]:
        """Hosted-fallback requests by (model, HTTP status or "error")."""
        return self._hosted_outcomes.snapshot()

    def batch_stats(self) -> dict[str, BatchSnapshot]:
        """Per model: batches run, their sizes and inference times (requests included)."""
        return {name: b.snapshot() for name, b in self._batches.items()}

    # -- stats -------------------------------------------------------------------------

    def routes(self, stream: str) -> dict[str, RouteCounts]:
        c = self._counters[stream]
        with c.lock:
            return {m: RouteCounts(r.offered, r.inferred, r.dropped, r.errors, r.hosted) for m, r in c.routes.items()}

    def stage_seconds(self, stream: str) -> tuple[int, dict[str, float]]:
        """Results so far and the seconds summed per latency stage over them."""
        c = self._counters[stream]
        with c.lock:
            return c.results, dict(c.stages)

    def snapshot(self) -> StatsSnapshot:
        streams: dict[str, StreamStats] = {name: self._stream_health(name) for name in list(self._plans)}
        with self._lock:
            models = {name: f"failed: {err}" for name, err in self._failed_models.items()}
            for name in self._runners:
                w = self._workers.get(name)
                models[name] = w.state if w else "idle"
            models.update(self._pending)
        hosted = {name: f.stats() for name, f in self._fallbacks.items()}
        return StatsSnapshot(time.time(), streams, models, hosted, self.tracking.stats())

    def _stream_health(self, name: str) -> StreamHealth:
        plan = self._plans[name]
        routes = self._routes[name]
        src = self._sources.get(name)
        st = src.status() if src else None
        with self._lock:
            waiting = sorted(m for m in self._pending if m in routes)
        c = self._counters[name]
        with c.lock:
            p50, p95 = c.latency.percentiles(50, 95)
            counts = {m: vars(r).copy() for m, r in c.routes.items()}
            fps_in, fps_out = c.fps_in.rate(), c.fps_out.rate() / max(1, len(routes))
        return StreamHealth(
            fps_in=round(fps_in, 2),
            fps_out=round(fps_out, 2),
            dropped=sum(r["dropped"] + r["errors"] for r in counts.values()),
            queue_depth=sum(self._inboxes[m].depth(name) for m in routes),
            latency_p50=round(p50, 4),
            latency_p95=round(p95, 4),
            state=st.state.value if st else SourceState.FAILED.value,
            uri=plan.source.uri.redacted(),
            frames_read=st.frames_read if st else 0,
            inferred=sum(r["inferred"] for r in counts.values()),
            hosted=sum(r["hosted"] for r in counts.values()),
            errors=sum(r["errors"] for r in counts.values()),
            reconnects=st.reconnects if st else 0,
            gap_seconds=round(st.gap_seconds, 3) if st else 0.0,
            gap_frames=st.gap_frames if st else 0,
            width=st.width if st else None,
            height=st.height if st else None,
            source_fps=round(st.fps, 2) if st and st.fps else None,
            error=(st.error if st else "none of its models loaded"),
            routes=counts,
            waiting_for=waiting,
        )
