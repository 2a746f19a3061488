"""Queue a request for a model's worker and wait for it, at most ``max_wait`` in the queue.

A request the worker has not taken within ``max_wait`` is taken back and answered 503 with
``Retry-After``; one it has taken is waited for (it is about one inference from done), so a
client is never told "busy" for work the device did.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

from edge.pipeline.request import InferenceRequest, RequestRefused, RequestResult
from edge.serve.inputs import Image
from edge.tasks.params import InferenceParams


class RequestPipeline(Protocol):
    def submit(self, model: str, request: InferenceRequest) -> None: ...

    def withdraw(self, model: str, request: InferenceRequest) -> bool: ...


@dataclass
class _Load:
    """One model's requests as the server sees them (touched on the event loop only)."""

    in_flight: int = 0
    interval: float | None = None  # seconds between answers while requests queue (EWMA)
    last_done: float = 0.0
    busy: bool = False  # more requests were waiting when the last one was answered

    def done(self) -> None:
        now = time.monotonic()
        if self.busy:  # the worker went from that answer to this one: one request's service time
            sample = now - self.last_done
            self.interval = sample if self.interval is None else 0.8 * self.interval + 0.2 * sample
        self.last_done, self.busy = now, self.in_flight > 0  # in_flight: this one already left

    def expected_wait(self) -> float:
        return self.in_flight * self.interval if self.interval is not None else 0.0


class Submitter:
    """Queues requests, and refuses at once (503) one that would wait longer than ``max_wait``
    behind those already queued, going by how fast the worker has been answering them (with
    cameras first, that is what the cameras leave): beyond capacity, the answer is a quick 503,
    not a wait of ``max_wait`` that ends in one."""

    def __init__(self, pipeline: RequestPipeline, max_wait: float, max_queue: int | None = None) -> None:
        self._pipeline = pipeline
        self._max_wait = max_wait
        self._max_queue = max_queue  # the pipeline refuses past it too, but only after the decode
        self._loads: dict[str, _Load] = {}

    def admit(self, model: str) -> None:
        """RequestRefused (503) when a request now would wait past ``max_wait``: called before
        the body is read and decoded, so a refusal costs next to nothing."""
        load = self._loads.setdefault(model, _Load())
        if self._max_queue is not None and load.in_flight > self._max_queue:  # one may be in the worker
            raise RequestRefused(f"model {model} is busy: {load.in_flight} requests already wait for it", 503, 1.0)
        if load.expected_wait() > self._max_wait:
            raise RequestRefused(
                f"model {model} is busy: {load.in_flight} requests already wait for it, about "
                f"{load.expected_wait():.1f} s of work (http.max_wait is {self._max_wait:g} s)",
                503,
                1.0,
            )

    async def infer(self, model: str, image: Image, params: InferenceParams) -> RequestResult:
        self.admit(model)  # again: others may have been queued while this image decoded
        load = self._loads[model]
        request = InferenceRequest.make(image, params)
        self._pipeline.submit(model, request)  # RequestRefused: not ready, or the queue is full
        load.in_flight += 1
        try:
            result = await self._wait(model, request)
        finally:
            load.in_flight -= 1
        load.done()
        return result

    async def _wait(self, model: str, request: InferenceRequest) -> RequestResult:
        reply = asyncio.wrap_future(request.reply)
        try:
            return await asyncio.wait_for(asyncio.shield(reply), self._max_wait)
        except asyncio.TimeoutError:
            if self._pipeline.withdraw(model, request):
                raise RequestRefused(
                    f"model {model} is busy: the request waited {self._max_wait:g} s for it", 503, 1.0
                ) from None
        return await reply  # taken by the worker meanwhile: its answer is moments away
