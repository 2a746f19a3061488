"""Queue a request for a model's worker and wait for it, at most ``max_wait`` in the queue.

A request the worker has not taken within ``max_wait`` is taken back and answered 503 with
``Retry-After``; one it has taken is waited for (it is about one inference from done), so a
client is never told "busy" for work the device did.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from edge.pipeline.request import InferenceRequest, RequestRefused, RequestResult
from edge.serve.inputs import Image
from edge.tasks.params import InferenceParams


class RequestPipeline(Protocol):
    def submit(self, model: str, request: InferenceRequest) -> None: ...

    def withdraw(self, model: str, request: InferenceRequest) -> bool: ...


class Submitter:
    def __init__(self, pipeline: RequestPipeline, max_wait: float) -> None:
        self._pipeline = pipeline
        self._max_wait = max_wait

    async def infer(self, model: str, image: Image, params: InferenceParams) -> RequestResult:
        request = InferenceRequest.make(image, params)
        self._pipeline.submit(model, request)  # RequestRefused: not ready, or the queue is full
        reply = asyncio.wrap_future(request.reply)
        try:
            return await asyncio.wait_for(asyncio.shield(reply), self._max_wait)
        except asyncio.TimeoutError:
            if self._pipeline.withdraw(model, request):
                raise RequestRefused(
                    f"model {model} is busy: the request waited {self._max_wait:g} s for it", 503, 1.0
                ) from None
        return await reply  # taken by the worker meanwhile: its answer is moments away
