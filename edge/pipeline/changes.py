"""What a reload changes in a running :class:`~edge.pipeline.core.Pipeline`: streams and models
added, removed or replaced, thresholds updated, each alone while everything else runs on.

A mixin over the pipeline's own state. Dicts other threads iterate (plans, sources, counters,
inboxes) are replaced, never resized in place, so their readers need no lock.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from edge.errors import EdgeError
from edge.hosted.fallback import HostedFallback, HostedPlan
from edge.hosted.latency import RecentTime
from edge.pipeline.batches import BatchStats
from edge.pipeline.fanout import Fanout
from edge.pipeline.inbox import DropHook, Inbox, ReplaceHook
from edge.pipeline.latest import LatestFrames
from edge.pipeline.plan import StreamPlan
from edge.pipeline.stats import RouteCounts, StreamCounters
from edge.pipeline.worker import ModelRunner, ModelWorker, WorkerProgress
from edge.sources import Frame, Source
from edge.sources.source import Opener
from edge.tasks.params import InferenceParams

log = logging.getLogger("edge.pipeline")


class PipelineChanges:
    """Reload operations; :class:`~edge.pipeline.core.Pipeline` owns the state declared here."""

    fanout: Fanout
    latest: LatestFrames
    _lock: threading.Lock
    _started: bool
    _file_queue: int
    _opener: Opener
    _plans: dict[str, StreamPlan]
    _routes: dict[str, tuple[str, ...]]
    _counters: dict[str, StreamCounters]
    _inboxes: dict[str, Inbox]
    _sources: dict[str, Source]
    _workers: dict[str, ModelWorker]
    _runners: dict[str, ModelRunner]
    _pending: dict[str, str]
    _failed_models: dict[str, str]
    _fallbacks: dict[str, HostedFallback]
    _requests: int
    _frame_time: dict[str, RecentTime]
    _batches: dict[str, BatchStats]

    # The pipeline's wiring, used here; Pipeline defines it (declared for the type checker only).
    if TYPE_CHECKING:

        def _worker(self, runner: ModelRunner) -> ModelWorker: ...

        def _deliverer(self, stream: str) -> Callable[[Frame], bool]: ...

        def _drop_hook(self, model: str) -> DropHook: ...

        def _overflow_hook(self, model: str) -> ReplaceHook: ...

        def _notify(self) -> None: ...

        def _make_fallback(self, model: str, h: HostedPlan) -> HostedFallback: ...

        def waiting_models(self) -> dict[str, str]: ...

    def worker_progress(self) -> dict[str, WorkerProgress]:
        """Each running model worker's progress counters, for the watchdog."""
        with self._lock:
            workers = dict(self._workers)
        return {name: w.progress() for name, w in workers.items()}

    def add_stream(self, plan: StreamPlan) -> None:
        """Start a new stream on the models it lists (ready or pending ones; failed ones are skipped)."""
        with self._lock:
            if plan.name in self._plans:
                raise EdgeError(f"stream {plan.name} already runs")
            known = set(self._runners) | set(self._pending) | set(self._failed_models)
            missing = [m for m in plan.models if m not in known]
            if missing:
                raise EdgeError(f"stream {plan.name}: no model named {missing[0]!r}; define it under models")
            routes = tuple(m for m in plan.models if m in self._runners or m in self._pending)
            self._counters = {**self._counters, plan.name: StreamCounters({m: RouteCounts() for m in routes})}
            for m in routes:
                self._inboxes[m].add_stream(plan.name, plan.source.is_live, self._file_queue)
            self._routes[plan.name] = routes
            self._plans = {**self._plans, plan.name: plan}
            for m in routes:
                self._ensure_worker(m)
            source = Source(plan.source, self._deliverer(plan.name), self._opener) if routes else None
            if source is not None:
                self._sources = {**self._sources, plan.name: source}
        if source is None:
            log.error("stream %s: none of its models loaded; it does not run", plan.name)
        elif self._started:
            source.start()
            log.info("stream %s: started", plan.name)

    def remove_stream(self, name: str, timeout: float = 5.0) -> bool:
        """Stop a stream; frames it had queued are counted as dropped, those inside a worker are
        published first. False if that did not finish within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            if name not in self._plans:
                raise EdgeError(f"no stream named {name}")
            routes = self._routes.get(name, ())
            self._routes[name] = ()
            source = self._sources.get(name)
        if source is not None:
            source.stop()
        for m in routes:  # also wakes a file source waiting for room
            self._inboxes[m].remove_stream(name)
        ok = source.join(timeout) if source is not None else True
        # Frames inside a worker finish first, so a stream restarted under the same name starts
        # with counters of its own.
        counters = self._counters[name]
        while not counters.settled() and time.monotonic() < deadline:
            time.sleep(0.01)
        ok = ok and counters.settled()
        with self._lock:
            self._plans = {k: v for k, v in self._plans.items() if k != name}
            self._sources = {k: v for k, v in self._sources.items() if k != name}
            # Its routes stay, empty, and its counters stay: a source that did not stop in time
            # may still deliver, and its late results are still accounted.
        self.latest.forget(name)
        log.info("stream %s: stopped", name)
        self._notify()
        return ok

    def add_model(self, name: str, runner: ModelRunner | None, pending: str | None = None) -> None:
        """A model new to the pipeline: ready (``runner``), or ``pending`` with that state."""
        if (runner is None) == (pending is None):
            raise EdgeError(f"model {name}: give either a runner or a pending state")
        with self._lock:
            if name in self._runners or name in self._pending:
                raise EdgeError(f"model {name} is already in the pipeline")
            self._failed_models.pop(name, None)
            self._add_inbox(name)
            if runner is not None:
                self._runners[name] = runner
            else:
                self._pending[name] = pending or ""
            self._route_to(name)

    def add_failed_model(self, name: str, reason: str) -> None:
        """A model that could not be opened: streams that list it run their other models."""
        with self._lock:
            self._failed_models[name] = reason

    def remove_model(self, name: str, timeout: float = 5.0) -> bool:
        """Stop a model's worker and forget it; frames queued for it are counted as dropped."""
        with self._lock:
            self._runners.pop(name, None)
            self._pending.pop(name, None)
            self._failed_models.pop(name, None)
            for stream, routes in self._routes.items():
                if name in routes:
                    self._routes[stream] = tuple(m for m in routes if m != name)
            worker = self._workers.pop(name, None)
            inbox = self._inboxes.get(name)
        if inbox is not None:
            inbox.close(discard=True)  # kept in place: a deliverer may still hold the name
        fallback = self._fallbacks.pop(name, None)
        if fallback is not None:
            for f in fallback.close(0.0, drain=False):
                self._counters[f.stream].dropped(name, 1)  # queued for the hosted API, never sent
        ok = worker.join(timeout) if worker is not None else True
        self._notify()
        return ok

    def replace_model(
        self, name: str, runner: ModelRunner | None, pending: str | None = None, timeout: float = 5.0
    ) -> bool:
        """Swap a model for a newly opened one (or one waiting for its engine) without touching
        its streams: the old worker finishes the batches it holds, the queued frames go to the
        new one. False if the old worker did not finish within ``timeout`` seconds."""
        if (runner is None) == (pending is None):
            raise EdgeError(f"model {name}: give either a runner or a pending state")
        with self._lock:
            old = self._workers.pop(name, None)
        ok = True
        if old is not None:
            old.retire()
            ok = old.join(timeout)  # in frame order: the old one's last results go out first
        with self._lock:
            self._failed_models.pop(name, None)
            if name not in self._inboxes:
                self._add_inbox(name)
            if runner is not None:
                self._pending.pop(name, None)
                self._runners[name] = runner
            else:
                self._runners.pop(name, None)
                self._pending[name] = pending or ""
            self._route_to(name)
            if runner is not None:
                self._ensure_worker(name)
        log.info("model %s: reopened", name)
        return ok

    def replace_fallbacks(self, plans: Mapping[str, HostedPlan]) -> None:
        """New hosted fallbacks from a reloaded config. Every reload rebuilds them, so one that a
        401/402/403 switched off (or whose breaker is open) starts again; the daily count is on
        disk and carries over. Frames the old ones had queued are counted as dropped."""
        with self._lock:
            usable = set(self._runners) | set(self._pending)
            old = self._fallbacks
            self._fallbacks = {m: self._make_fallback(m, h) for m, h in plans.items() if m in usable}
            latency = {m for m, f in self._fallbacks.items() if "latency" in f.config.when}
            self._frame_time = {m: self._frame_time.get(m) or RecentTime() for m in latency}
        for name, fallback in old.items():
            for f in fallback.close(0.0, drain=False):
                self._counters[f.stream].dropped(name, 1)

    def ready_models(self) -> set[str]:
        """Models with a runner (open, not waiting for an engine, not failed)."""
        with self._lock:
            return set(self._runners)

    def update_params(self, name: str, params: InferenceParams) -> None:
        """New thresholds for a model, in effect from the next batch it decodes."""
        with self._lock:
            runner = self._runners.get(name)
            if runner is None:
                raise EdgeError(f"model {name} is not running")
            self._runners[name] = dataclasses.replace(runner, params=params)
            worker = self._workers.get(name)
        if worker is not None:
            worker.update_params(params)

    def _route_to(self, model: str) -> None:
        """Route to ``model`` the streams that list it but do not send it frames (it was
        missing or failed until now). Holds ``_lock``."""
        for stream, plan in self._plans.items():
            routes = self._routes.get(stream, ())
            if model not in plan.models or model in routes:
                continue
            self._inboxes[model].add_stream(stream, plan.source.is_live, self._file_queue)
            counters = self._counters[stream]
            with counters.lock:
                counters.routes.setdefault(model, RouteCounts())
            self._routes[stream] = tuple(m for m in plan.models if m in routes or m == model)

    def _add_inbox(self, model: str) -> None:
        """An inbox (and batch statistics) for a model new to the pipeline, taking HTTP
        requests too when the pipeline serves them. Holds ``_lock``."""
        inbox = Inbox(self._drop_hook(model), self._overflow_hook(model))
        if self._requests > 0:
            inbox.add_requests(self._requests)
        self._batches.setdefault(model, BatchStats())
        self._inboxes = {**self._inboxes, model: inbox}

    def _ensure_worker(self, model: str) -> None:
        """A worker for a ready model that some stream (or the HTTP server) uses. Holds ``_lock``."""
        runner = self._runners.get(model)
        used = self._requests > 0 or any(model in rs for rs in self._routes.values())
        if runner is None or not used or model in self._workers:
            return
        worker = self._worker(runner)
        self._workers[model] = worker
        if self._started:
            worker.start()
