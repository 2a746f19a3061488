"""Frames a model cannot take locally, answered by the hosted API instead of being lost.

The pipeline offers a frame with the reason (``building``, ``overflow`` or ``error``); the
fallback takes it when that reason is enabled, its queue has room and the request rate allows,
and otherwise refuses, so the caller handles the frame as it would without a fallback (drop and
count it, or hold it). Accepted frames are sent on two threads, each request through the
model's :class:`~edge.hosted.guard.Guard` (rate, daily limit, breaker, off switch); each answer
is checked against the task's v1 shape and published like a local result, with
``source: hosted``. A frame the API fails on is counted as an error of its model, with the
reason logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import first_line
from edge.hosted.budget import DailyBudget, budget_path
from edge.hosted.client import HostedClient, HostedError
from edge.hosted.config import HostedConfig
from edge.hosted.guard import Guard, Notify
from edge.messages import HostedStats, ModelNotice, ResultMessage, ResultSource
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


def client_for(config: HostedConfig, spec: ModelSpec, api_key: str) -> HostedClient:
    """The client of a model's fallback: uploads capped at ``upload_size``, else the model's input size."""
    size = config.upload_size or (spec.preprocess.width, spec.preprocess.height)
    return HostedClient(
        config.base_url(spec.task), config.model_id, api_key, config.timeout, config.retries, config.jpeg_quality, size
    )


@dataclass(frozen=True)
class HostedPlan:
    """What a pipeline needs to give one model a hosted fallback."""

    config: HostedConfig
    client: HostedClient
    spec: ModelSpec
    params: InferenceParams
    state_dir: Path | None = None  # where daily_limit's count survives restarts; None: memory only


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
        state_dir: Path | None = None,
        notify: Notify | None = None,
        drop: Callable[[Frame], None] | None = None,
    ) -> None:
        self.model, self.spec, self.config = model, spec, config
        self._client, self._params = client, params
        self._publish, self._account, self._fail = publish, account, fail
        self._drop = drop  # a frame the guard turned away after it was queued (None: counted as failed)
        self._queue: deque[Frame] = deque()
        self._cond = threading.Condition()
        budget = None
        if config.daily_limit is not None:
            path = budget_path(state_dir, model) if state_dir is not None else None
            budget = DailyBudget(config.daily_limit, path)
        self.guard = Guard(model, config, client.where, budget, notify)
        if notify is not None:  # a restart clears an "off" an earlier run left on the retained topic
            notify(ModelNotice(model, "hosted", "on", "", time.time()))
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
            if self._closed or len(self._queue) >= self.config.queue or not self.guard.accepts():
                return False
            self._queue.append(frame)
            self._cond.notify()
        return True

    def stats(self) -> HostedStats:
        return self.guard.stats()

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
            doc = self._client.infer(frame.image, self._params, self.guard)
            check_v1(self.spec, doc)
        except HostedError as exc:
            if not exc.sent and self._drop is not None:
                self._drop(frame)  # turned away before any request: the guard has logged why
                return
            self._failed(frame, exc)
            return
        except Exception as exc:  # an answer that is not this task's v1 shape
            self._failed(frame, exc)
            return
        latency = {"capture": frame.capture_s, "queue": t0 - frame.captured, "hosted": time.perf_counter() - t0}
        result = ResultMessage(frame.stream, self.model, frame.seq, frame.timestamp, ResultSource.HOSTED, doc, latency)
        self._publish(result)
        self._account(result)

    def _failed(self, frame: Frame, exc: Exception) -> None:
        message = first_line(exc)
        if message not in self._logged:  # one line per distinct error, not one per frame
            self._logged.add(message)
            log.error("model %s: hosted fallback failed: %s", self.model, message)
        self._fail([frame], f"hosted: {message}")
