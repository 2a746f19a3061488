"""A request from outside the streams (the HTTP server): a frame that carries its own
parameters and a reply, and that the model worker answers instead of publishing.

Requests share the model's inbox and worker with the camera streams, so a device never runs
two copies of a model and a request is batched with stream frames where the model takes a
batch. They are never counted in stream stats: the server counts them by status.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.sources import Frame
from edge.tasks.decode import Result
from edge.tasks.params import InferenceParams

# Stream names must start with a letter or digit, so this one cannot clash with a stream.
REQUEST_STREAM = ":requests"


@dataclass(frozen=True)
class RequestResult:
    """What the worker hands back: the decoded result and this image's share of the work."""

    result: Result
    seconds: float  # preprocess + infer + postprocess, divided over the batch
    batch: int  # images in the batch the request ran in


@dataclass(frozen=True, eq=False)
class InferenceRequest(Frame):
    """One image to infer with ``params``; ``reply`` resolves to a :class:`RequestResult`
    or to an :class:`~edge.errors.EdgeError` when the model failed on it."""

    params: InferenceParams = field(default_factory=InferenceParams)
    reply: Future[RequestResult] = field(default_factory=Future)

    def __eq__(self, other: object) -> bool:  # one request is only ever itself
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def answer(self, result: RequestResult) -> None:
        if not self.reply.done():  # the server may have given up on it (cancelled)
            try:
                self.reply.set_result(result)
            except InvalidStateError:
                pass

    def refuse(self, error: Exception) -> None:
        if not self.reply.done():
            try:
                self.reply.set_exception(error)
            except InvalidStateError:
                pass

    @classmethod
    def make(cls, image: npt.NDArray[np.uint8], params: InferenceParams) -> InferenceRequest:
        return cls(REQUEST_STREAM, next(_SEQ), time.time(), image, time.perf_counter(), 0.0, params)


class RequestRefused(EdgeError):
    """A request the pipeline cannot take now. ``status`` is the HTTP status that says so
    (404 no such model, 503 busy or not ready); ``retry_after`` seconds when worth retrying."""

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class _Counter:
    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def __next__(self) -> int:
        with self._lock:
            self._n += 1
            return self._n


_SEQ = _Counter()


def is_request(frame: Frame) -> bool:
    return isinstance(frame, InferenceRequest)
