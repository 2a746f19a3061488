"""Frames a model cannot take locally, answered by the hosted API instead of being lost.

The pipeline offers a frame with the reason (``building``, ``overflow`` or ``error``); the
fallback takes it when that reason is enabled, its queue has room and the request rate allows,
and otherwise refuses, so the caller handles the frame as it would without a fallback (drop and
count it, or hold it). Accepted frames are sent on two threads; each answer is checked against
the task's v1 shape and published like a local result, with ``source: hosted``. A frame the API
fails on is counted as an error of its model, with the reason logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from edge.errors import first_line
from edge.hosted.client import HostedClient
from edge.hosted.config import HostedConfig
from edge.messages import ResultMessage, ResultSource
from edge.models.spec import ModelSpec, Task
from edge.sources import Frame
from edge.tasks.classification import Classification
from edge.tasks.detection import Detections
from edge.tasks.instance_segmentation import InstanceSegmentation
from edge.tasks.keypoints import KeypointDetections
from edge.tasks.params import InferenceParams
from edge.tasks.semantic_segmentation import SemanticSegmentation

log = logging.getLogger("edge.hosted")

Publish = Callable[[ResultMessage], None]
Fail = Callable[[Sequence[Frame], str], None]
_WORKERS = 2


class RateLimit:
    """A token bucket: ``rate`` per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst = rate, burst or max(1.0, rate)
        self._tokens = self._burst
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def check_v1(spec: ModelSpec, doc: dict[str, Any]) -> None:
    """Raise if ``doc`` is not a v1 document of the model's task (KeyError, ValueError, ...)."""
    task = spec.task
    if task is Task.OBJECT_DETECTION:
        Detections.from_v1(doc)
    elif task is Task.INSTANCE_SEGMENTATION:
        InstanceSegmentation.from_v1(doc)
    elif task is Task.KEYPOINT_DETECTION:
        KeypointDetections.from_v1(doc)
    elif task is Task.CLASSIFICATION:
        Classification.from_v1(doc)
    else:
        SemanticSegmentation.from_v1(doc)


@dataclass(frozen=True)
class HostedPlan:
    """What a pipeline needs to give one model a hosted fallback."""

    config: HostedConfig
    client: HostedClient
    spec: ModelSpec
    params: InferenceParams


class HostedFallback:
    def __init__(
        self,
        model: str,
        spec: ModelSpec,
        config: HostedConfig,
        client: HostedClient,
        params: InferenceParams,
        publish: Publish,
        account: Publish,
        fail: Fail,
    ) -> None:
        self.model, self.spec, self.config = model, spec, config
        self._client, self._params = client, params
        self._publish, self._account, self._fail = publish, account, fail
        self._queue: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._rate = RateLimit(config.max_rate)
        self._closed = False
        self._logged: set[str] = set()
        self._threads = [
            threading.Thread(target=self._loop, name=f"hosted-{model}-{i}", daemon=True) for i in range(_WORKERS)
        ]
        for t in self._threads:
            t.start()

    def offer(self, frame: Frame, reason: str) -> bool:
        """Take ``frame`` for the hosted API; False when it should be handled as before."""
        if reason not in self.config.when:
            return False
        with self._cond:
            if self._closed or len(self._queue) >= self.config.queue or not self._rate.take():
                return False
            self._queue.append(frame)
            self._cond.notify()
        return True

    def close(self, timeout: float = 10.0, drain: bool = True) -> list[Frame]:
        """Take no more frames; with ``drain``, send the queued ones within ``timeout``.
        Returns the frames that were never sent."""
        unsent: list[Frame] = []
        with self._cond:
            self._closed = True
            if not drain:
                unsent, self._queue = list(self._queue), deque()
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            unsent += list(self._queue)
            self._queue.clear()
        return unsent

    def _next(self) -> Frame | None:
        with self._cond:
            self._cond.wait_for(lambda: bool(self._queue) or self._closed)
            return self._queue.popleft() if self._queue else None

    def _loop(self) -> None:
        while (frame := self._next()) is not None:
            self._send(frame)

    def _send(self, frame: Frame) -> None:
        t0 = time.perf_counter()
        try:
            doc = self._client.infer(frame.image, self._params)
            check_v1(self.spec, doc)
        except Exception as exc:  # HostedError, or an answer that is not this task's v1 shape
            message = first_line(exc)
            if message not in self._logged:  # one line per distinct error, not one per frame
                self._logged.add(message)
                log.error("model %s: hosted fallback failed: %s", self.model, message)
            self._fail([frame], f"hosted: {message}")
            return
        latency = {"capture": frame.capture_s, "queue": t0 - frame.captured, "hosted": time.perf_counter() - t0}
        result = ResultMessage(frame.stream, self.model, frame.seq, frame.timestamp, ResultSource.HOSTED, doc, latency)
        self._publish(result)
        self._account(result)
