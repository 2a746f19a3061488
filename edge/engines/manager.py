"""Engines built in the background, so a daemon serves (or says why it cannot) while it waits.

:meth:`EngineManager.request` never builds on the caller's thread: it answers at once with
READY (a complete engine is in the cache), BUILDING (queued or running on the worker thread),
FAILED (with the reason; a failed key is not retried until the model or its options change,
even across restarts, since the failure is recorded in the store) or UNAVAILABLE (TensorRT
is not installed). Builds run one at a time: two at once would only thrash a Jetson's memory.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from edge.engines.compile import BuildFn, BuildRequest, ensure_engine, plan_build
from edge.engines.errors import BuildCancelled
from edge.engines.key import FILE_HASHES, DeviceInfo, FileHashCache
from edge.engines.options import BuildOptions
from edge.engines.progress import ProgressSnapshot, ProgressTracker
from edge.engines.store import EngineStore, safe_name
from edge.errors import EdgeError
from edge.models.spec import ModelSpec

log = logging.getLogger("edge.engines")


class EngineState(str, Enum):
    READY = "ready"
    BUILDING = "building"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class EngineStatus:
    model: str
    state: EngineState
    key: str | None = None
    engine_path: Path | None = None
    reason: str | None = None
    progress: ProgressSnapshot | None = None

    def describe(self) -> str:
        """One line for a stream's status: what it waits for, or why it cannot run."""
        if self.state is EngineState.READY:
            return f"{self.model}: TensorRT engine ready"
        if self.state is EngineState.BUILDING:
            p = self.progress
            if p is None or p.fraction is None:
                return f"{self.model}: waiting for its TensorRT engine (build queued or starting)"
            return f"{self.model}: waiting for its TensorRT engine: {p.fraction * 100:.0f}% ({p.text})"
        if self.state is EngineState.FAILED:
            return f"{self.model}: TensorRT engine build failed: {self.reason}"
        return f"{self.model}: TensorRT unavailable: {self.reason}"


StatusListener = Callable[[EngineStatus], None]


@dataclass
class _Job:
    request: BuildRequest
    status: EngineStatus
    tracker: ProgressTracker


class EngineManager:
    """Background engine builds for the models of one daemon. Thread-safe."""

    def __init__(
        self,
        store: EngineStore,
        build: BuildFn,
        device: DeviceInfo | None,
        *,
        unavailable_reason: str = "TensorRT is not installed on this machine",
        on_status: StatusListener | None = None,
        hashes: FileHashCache = FILE_HASHES,
    ) -> None:
        self.store = store
        self._build = build
        self._device = device
        self._unavailable = unavailable_reason
        self._on_status = on_status
        self._hashes = hashes
        self._cond = threading.Condition()
        self._status: dict[str, EngineStatus] = {}
        self._jobs: dict[str, _Job] = {}
        self._queue: collections.deque[_Job] = collections.deque()
        self._worker: threading.Thread | None = None
        self._closed = False
        # Requests are decided one at a time (check the cache, then enqueue), so two threads
        # asking for the same model cannot both start a build.
        self._deciding = threading.Lock()

    def request(self, spec: ModelSpec, options: BuildOptions, model: str | None = None) -> EngineStatus:
        """Ask for ``spec``'s engine under ``options``; returns without building."""
        with self._deciding:
            return self._request(spec, options, safe_name(model or spec.name))

    def _request(self, spec: ModelSpec, options: BuildOptions, name: str) -> EngineStatus:
        if self._device is None:
            return self._set(EngineStatus(name, EngineState.UNAVAILABLE, reason=self._unavailable))
        try:
            req = plan_build(spec, options, self._device, self.store, name, self._hashes)
        except EdgeError as exc:  # a bad option or calibration folder: the build cannot even start
            return self._set(EngineStatus(name, EngineState.FAILED, reason=str(exc)))
        with self._cond:
            if self._closed:
                raise EdgeError("the engine manager is closed")
            current = self._jobs.get(name)
            if current is not None and current.request.digest == req.digest:
                return self._status[name]  # same inputs as before: nothing changes
            if current is not None:
                current.tracker.cancel()  # superseded by new inputs
                self._jobs.pop(name)
        return self._start(name, req)

    def _start(self, name: str, req: BuildRequest) -> EngineStatus:
        if self.store.read_manifest(name, req.digest) is not None:
            path = self.store.engine_path(name, req.digest)
            status = EngineStatus(name, EngineState.READY, req.digest, engine_path=path)
        elif (failure := self.store.failure(name, req.digest)) is not None:
            status = EngineStatus(name, EngineState.FAILED, req.digest, reason=failure.reason)
        else:
            status = EngineStatus(name, EngineState.BUILDING, req.digest)
        job = _Job(req, status, ProgressTracker(self._progress_listener(name, req.digest)))
        with self._cond:
            self._jobs[name] = job
            if status.state is EngineState.BUILDING:
                self._queue.append(job)
                if self._worker is None:
                    self._worker = threading.Thread(target=self._run, name="edge-engine-builds", daemon=True)
                    self._worker.start()
                self._cond.notify_all()
        return self._set(status)

    def status(self, model: str) -> EngineStatus:
        name = safe_name(model)
        with self._cond:
            if name not in self._status:
                return EngineStatus(name, EngineState.UNAVAILABLE, reason="no engine was requested for this model")
            return self._status[name]

    def wait(self, model: str, timeout: float | None = None) -> EngineStatus:
        """Block until the model's engine is no longer BUILDING (or ``timeout`` seconds pass)."""
        name = safe_name(model)
        with self._cond:
            self._cond.wait_for(lambda: self.status(name).state is not EngineState.BUILDING, timeout)
            return self.status(name)

    def engine_invalid(self, model: str, reason: str) -> EngineStatus:
        """Report that a READY engine would not load (TensorRT refused it): it is moved aside
        and rebuilt, so the daemon can go on waiting for it."""
        name = safe_name(model)
        with self._deciding:
            with self._cond:
                job = self._jobs.get(name)
                status = self._status.get(name)
            if job is None or status is None or status.state is not EngineState.READY:
                return self.status(name)
            self.store.quarantine(name, job.request.digest, f"would not load: {reason}")
            log.warning("%s: engine %s would not load (%s); rebuilding", name, job.request.digest, reason)
            return self._start(name, job.request)

    def close(self, timeout: float | None = 10.0) -> None:
        """Cancel the running build (TensorRT stops at its next step) and stop the worker."""
        with self._cond:
            self._closed = True
            for job in self._jobs.values():
                job.tracker.cancel()
            self._queue.clear()
            self._cond.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join(timeout)

    def _progress_listener(self, name: str, digest: str) -> Callable[[ProgressSnapshot], None]:
        last: list[tuple[str, ...]] = [()]

        def listen(snap: ProgressSnapshot) -> None:
            with self._cond:
                job = self._jobs.get(name)
                if job is None or job.request.digest != digest:
                    return
                self._status[name] = replace(self._status[name], progress=snap)
            phases = tuple(p.name for p in snap.phases)
            if phases != last[0]:  # listeners hear phase changes, not every step
                last[0] = phases
                self._notify(self._status[name])

        return listen

    def _set(self, status: EngineStatus) -> EngineStatus:
        with self._cond:
            self._status[status.model] = status
            self._cond.notify_all()
        self._notify(status)
        return status

    def _notify(self, status: EngineStatus) -> None:
        if status.state is EngineState.FAILED:
            log.error("%s", status.describe())
        if self._on_status is None:
            return
        try:
            self._on_status(status)
        except Exception:
            log.exception("engine status listener failed")

    def _next(self) -> _Job | None:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._queue) or self._closed)
            if self._closed:
                return None
            return self._queue.popleft()

    def _run(self) -> None:
        while (job := self._next()) is not None:
            name, req = job.status.model, job.request
            with self._cond:
                if self._jobs.get(name) is not job:
                    continue  # superseded while queued
            try:
                got = ensure_engine(self.store, req, self._build, job.tracker, retry_failed=False)
                result = EngineStatus(name, EngineState.READY, req.digest, engine_path=got.engine_path)
            except BuildCancelled:
                continue
            except Exception as exc:  # every failure is reported on the status, none kills the worker
                result = EngineStatus(name, EngineState.FAILED, req.digest, reason=str(exc) or type(exc).__name__)
            with self._cond:
                if self._jobs.get(name) is not job:
                    continue
            self._set(result)
