"""One model's inference worker, shared by every stream that uses the model.

Three threads overlap the stages: one takes frames (one per stream, up to the batch size)
and preprocesses them, one runs the backend, one decodes and publishes. Hand-offs are
one-deep queues, so at most one batch waits between stages and a live frame is never more
than about one inference old when it is inferred. With ``pipelined=False`` one thread runs the
stages one after the other (for backends that already use every core for each inference).

With ``instances`` above one, that many threads run the backend at once (ONNX Runtime's
``run`` is thread-safe; see edge/backends/threads.py for why that pays on a small CPU). Batches
are numbered as they are taken and published in that order, so a stream's results never
overtake each other whichever inference finishes first.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.backends.base import Backend
from edge.errors import EdgeError
from edge.messages import ResultMessage, ResultSource
from edge.model import Model
from edge.pipeline.inbox import Inbox
from edge.pipeline.request import InferenceRequest, RequestResult
from edge.preprocess import Geometry, preprocess
from edge.sources import Frame
from edge.tasks.decode import Result, decode_batch
from edge.tasks.params import InferenceParams
from edge.tasks.v1 import new_id

log = logging.getLogger("edge.pipeline")


@dataclass(frozen=True)
class ModelRunner:
    """A loaded model as the pipeline runs it. ``max_batch`` caps batches of a dynamic-batch
    model; a fixed-batch model always runs its own batch size (short batches are padded)."""

    name: str
    model: Model
    params: InferenceParams = field(default_factory=InferenceParams)
    max_batch: int = 8
    pipelined: bool = True  # stages on three threads; False: one thread, one stage after the other
    instances: int = 1  # batches inferred at once (pipelined only)

    def __post_init__(self) -> None:
        if not self.name:
            raise EdgeError("a model needs a name")
        if self.max_batch < 1:
            raise EdgeError(f"model {self.name}: max_batch must be >= 1, got {self.max_batch}")
        if self.instances < 1 or (self.instances > 1 and not self.pipelined):
            raise EdgeError(
                f"model {self.name}: instances must be 1, or more with pipelined stages; got {self.instances}"
            )

    @property
    def batch_size(self) -> int:
        return self.model.spec.batch or self.max_batch


@dataclass
class _Job:
    """A batch moving through the stages, with the moments each stage started and ended."""

    frames: list[Frame]
    taken: float
    number: int = 0  # order taken: the post stage publishes in this order
    failed: bool = False  # inference raised (reported then); the post stage skips it in its turn
    geometries: list[Geometry] = field(default_factory=list)
    tensor: npt.NDArray[np.float32] | None = None
    prepped: float = 0.0
    infer_start: float = 0.0
    infer_end: float = 0.0
    outputs: list[npt.NDArray[np.generic]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.frames:
            raise EdgeError("a batch needs at least one frame")


@dataclass(frozen=True)
class WorkerProgress:
    """What the watchdog reads: ``completed`` counts batches through inference (inferred or
    failed) and never goes back; ``waiting`` frames are queued or in the stages;
    ``infer_seconds`` is the recent mean of one inference (0 before the first)."""

    serial: int  # tells a replaced worker from its successor of the same name
    completed: int
    waiting: int
    infer_seconds: float


_serials = itertools.count(1)

Publish = Callable[[ResultMessage], None]
Account = Callable[[ResultMessage], None]
Fail = Callable[[Sequence[Frame], str], None]
Observe = Callable[[int, float], None]  # (images in the batch, inference seconds)

_DONE = None


class ModelWorker:
    def __init__(
        self,
        runner: ModelRunner,
        inbox: Inbox,
        publish: Publish,
        account: Account,
        fail: Fail,
        observe: Observe | None = None,
    ) -> None:
        self.runner = runner
        self._observe = observe
        self.inbox = inbox
        self._publish = publish
        self._account = account
        self._fail = fail
        self._to_infer: queue.Queue[_Job | None] = queue.Queue(maxsize=1)
        self._to_post: queue.Queue[_Job | None] = queue.Queue(maxsize=1)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last_error: str | None = None
        self._errors_logged: set[str] = set()
        self._serial = next(_serials)
        self._completed = 0
        self._infer_mean = 0.0
        self._retired = threading.Event()
        self._output_names = [o.name for o in runner.model.backend.outputs]
        # TensorRT preprocesses on the GPU inside infer_images; CPU backends keep the base
        # version, and the worker preprocesses on its own thread, overlapped with inference.
        self._device_preprocess = type(runner.model.backend).infer_images is not Backend.infer_images
        self._numbers = itertools.count()
        # Batches between the prep and post stages: what the one-deep queues hold with one
        # instance; with more it bounds those finished early and held back for their turn.
        self._window = threading.BoundedSemaphore(2 * runner.instances + 2)
        infer = [(f"infer{i or ''}", self._infer_loop) for i in range(runner.instances)]
        loops = (
            [("prep", self._prep_loop), *infer, ("post", self._post_loop)]
            if runner.pipelined
            else [("worker", self._sequential_loop)]
        )
        self._threads = [
            threading.Thread(target=self._guard, args=(loop,), name=f"{stage}-{runner.name}", daemon=True)
            for stage, loop in loops
        ]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def join(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def retire(self) -> None:
        """Take no more frames: those in the stages finish, the queued ones stay for a successor."""
        self._retired.set()
        self.inbox.wake()

    def update_params(self, params: InferenceParams) -> None:
        """New thresholds from the next batch decoded on (one reference swap: no lock needed)."""
        self.runner = dataclasses.replace(self.runner, params=params)

    def progress(self) -> WorkerProgress:
        queued = 0 if self.inbox.empty() else 1
        with self._lock:
            return WorkerProgress(self._serial, self._completed, self._in_flight + queued, self._infer_mean)

    def _finished_inference(self, seconds: float | None) -> None:
        with self._lock:
            self._completed += 1
            if seconds is not None:  # a slow model's stall limit grows with its own time
                self._infer_mean = seconds if not self._infer_mean else 0.8 * self._infer_mean + 0.2 * seconds

    def _take(self) -> list[Frame]:
        if self._retired.is_set():
            return []
        return self.inbox.take(self.runner.batch_size, self._retired.is_set)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def state(self) -> str:
        with self._lock:
            return "ready" if self._last_error is None else f"error: {self._last_error}"

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except Exception:  # a stage that dies would wedge the others: say so loudly
            log.exception("model %s: worker stage stopped", self.runner.name)

    def _error(self, job: _Job, stage: str, exc: Exception) -> None:
        message = f"{stage} failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        with self._lock:
            self._last_error = message
            self._in_flight -= len(job.frames)
            first = message not in self._errors_logged
            self._errors_logged.add(message)
        if first:  # one line per distinct error, not one per frame
            log.error("model %s: %s (streams %s)", self.runner.name, message, sorted({f.stream for f in job.frames}))
        frames = [f for f in job.frames if not isinstance(f, InferenceRequest)]
        for f in job.frames:
            if isinstance(f, InferenceRequest):  # answered with the error; never a stream's count
                f.refuse(EdgeError(f"model {self.runner.name}: {message}"))
        if frames:
            self._fail(frames, message)

    # -- stages: each step handles one batch and returns False when the batch failed ----

    def _prepare(self, frames: list[Frame]) -> _Job | None:
        spec = self.runner.model.spec
        job = _Job(frames, time.perf_counter())
        with self._lock:
            self._in_flight += len(frames)
        if self._device_preprocess:  # the backend preprocesses on its device, in the infer stage
            job.prepped = time.perf_counter()
            return job
        try:
            tensor, job.geometries = preprocess([f.image for f in frames], spec.preprocess)
            if spec.batch is not None and len(frames) < spec.batch:
                # A fixed-batch model: repeat the last image; its extra outputs are ignored.
                pad = np.repeat(tensor[-1:], spec.batch - len(frames), axis=0)
                tensor = np.concatenate([tensor, pad])
            job.tensor = tensor
        except Exception as exc:
            self._error(job, "preprocess", exc)
            return None
        job.prepped = time.perf_counter()
        return job

    def _run_backend(self, job: _Job) -> list[npt.NDArray[np.generic]]:
        backend = self.runner.model.backend
        if self._device_preprocess:
            spec = self.runner.model.spec
            images = [f.image for f in job.frames]
            if spec.batch is not None and len(images) < spec.batch:
                images += [images[-1]] * (spec.batch - len(images))
            outputs, geometries = backend.infer_images(images, spec.preprocess)
            job.geometries = list(geometries[: len(job.frames)])  # padding decodes to nothing
            return outputs
        if job.tensor is None:
            raise EdgeError("batch reached inference without a tensor")
        return backend.infer(job.tensor)

    def _infer(self, job: _Job) -> bool:
        job.infer_start = time.perf_counter()
        try:
            job.outputs = self._run_backend(job)
        except Exception as exc:
            self._finished_inference(None)
            self._error(job, "inference", exc)
            job.failed = True
            return False
        self._finished_inference(time.perf_counter() - job.infer_start)
        job.tensor = None  # the batch's memory goes now, not when the job is done
        job.infer_end = time.perf_counter()
        if self._observe is not None:
            self._observe(len(job.frames), job.infer_end - job.infer_start)
        return True

    def _post(self, job: _Job) -> None:
        post_start = time.perf_counter()
        try:
            results = self._decode(job)
        except Exception as exc:
            self._error(job, "postprocess", exc)
            return
        job.outputs = []
        self._emit(job, results, post_start)

    def _decode(self, job: _Job) -> list[Result]:
        """Decode each image with its parameters: the model's for stream frames, a request's own."""
        params = [f.params if isinstance(f, InferenceRequest) else self.runner.params for f in job.frames]
        spec = self.runner.model.spec
        if all(p == params[0] for p in params):
            return decode_batch(spec, job.outputs, job.geometries, params[0], self._output_names)
        results: list[Result | None] = [None] * len(params)
        for p in set(params):
            idx = [i for i, q in enumerate(params) if q == p]
            outputs = [o[idx] for o in job.outputs]  # every output is batch-first
            geometries = [job.geometries[i] for i in idx]
            for i, r in zip(idx, decode_batch(spec, outputs, geometries, p, self._output_names)):
                results[i] = r
        return [r for r in results if r is not None]

    # -- loops -------------------------------------------------------------------------

    def _sequential_loop(self) -> None:
        while frames := self._take():
            job = self._prepare(frames)
            if job is not None and self._infer(job):
                self._post(job)

    def _prep_loop(self) -> None:
        while frames := self._take():
            job = self._prepare(frames)
            if job is not None:
                job.number = next(self._numbers)  # only batches that reach inference are numbered
                self._window.acquire()
                self._to_infer.put(job)
        for _ in range(self.runner.instances):
            self._to_infer.put(_DONE)

    def _infer_loop(self) -> None:
        while (job := self._to_infer.get()) is not None:
            self._infer(job)
            self._to_post.put(job)  # a failed one too: the post stage must not wait for its number
        self._to_post.put(_DONE)

    def _post_loop(self) -> None:
        """Publishes batches in the order they were taken; with one instance they arrive in it."""
        waiting: dict[int, _Job] = {}
        running, want = self.runner.instances, 0
        while running:
            job = self._to_post.get()
            if job is None:
                running -= 1
                continue
            waiting[job.number] = job
            while want in waiting:
                ready = waiting.pop(want)
                if not ready.failed:
                    self._post(ready)
                self._window.release()
                want += 1

    def _emit(self, job: _Job, results: list[Result], post_start: float) -> None:
        n = len(job.frames)
        pre = job.prepped - job.taken
        infer = job.infer_end - job.infer_start
        wait = (job.infer_start - job.prepped) + (post_start - job.infer_end)
        for frame, result in zip(job.frames, results):
            done = time.perf_counter()
            post = done - post_start
            if isinstance(frame, InferenceRequest):
                with self._lock:
                    self._in_flight -= 1
                frame.answer(RequestResult(result, round((pre + infer + post) / n, 6), n))
                continue
            latency = {
                "capture": frame.capture_s,
                "queue": job.taken - frame.captured,
                "preprocess": pre,
                "wait": wait,
                "infer": infer,
                "postprocess": post,
            }  # the stages add up to the time from capture to publish
            # As the hosted API reports it: this image's share of the model's work.
            v1 = result.to_v1(inference_id=new_id(), time=round((pre + infer + post) / n, 6))
            message = ResultMessage(
                frame.stream, self.runner.name, frame.seq, frame.timestamp, ResultSource.LOCAL, v1, latency
            )
            self._publish(message)
            with self._lock:
                self._in_flight -= 1
            self._account(message)
