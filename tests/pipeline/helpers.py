"""Sinks and backends with chosen behaviour, wrapped around real models."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.backends import Backend
from edge.messages import ResultMessage, Sink, StatsSnapshot
from edge.model import Model
from edge.pipeline import ModelRunner, StreamPlan
from edge.preprocess import Geometry, PreprocessConfig, preprocess
from edge.sources import SourceSettings, parse_uri
from tests.helpers import FIXTURE_MODELS

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


class MemorySink(Sink):
    def __init__(self) -> None:
        self.messages: list[ResultMessage] = []
        self.stats: list[StatsSnapshot] = []
        self.closed = False
        self._lock = threading.Lock()

    def publish(self, message: ResultMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def publish_stats(self, stats: StatsSnapshot) -> None:
        self.stats.append(stats)

    def close(self, timeout: float = 5.0) -> None:
        self.closed = True

    def frames(self, stream: str, model: str) -> list[int]:
        with self._lock:
            return [m.frame for m in self.messages if m.stream == stream and m.model == model]


class BrokenSink(Sink):
    def __init__(self) -> None:
        self.calls = 0

    def publish(self, message: ResultMessage) -> None:
        self.calls += 1
        raise ConnectionError("broker gone")


class SpyBackend(Backend):
    """Runs the real backend; records batch sizes, sleeps ``delay`` (plus up to ``jitter``,
    seeded per call, or ``first_delay`` on the first call) and fails on chosen calls. Counts
    the calls running at once, for models run with several instances."""

    def __init__(
        self, inner: Backend, delay: float = 0.0, fail_every: int = 0, jitter: float = 0.0, first_delay: float = 0.0
    ) -> None:
        self.inner = inner
        self.inputs, self.outputs, self.name = inner.inputs, inner.outputs, f"spy({inner.name})"
        self.delay, self.fail_every, self.jitter, self.first_delay = delay, fail_every, jitter, first_delay
        self.batches: list[int] = []
        self.active = self.peak_active = 0
        self.started_during_first = 0  # calls begun while the first one ran
        self._first_running = False
        self._lock = threading.Lock()

    def infer(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.generic]]:
        with self._lock:
            self.batches.append(len(batch))
            call = len(self.batches)
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
            self.started_during_first += self._first_running
            self._first_running = self._first_running or call == 1
        try:
            if self.fail_every and call % self.fail_every == 0:
                raise RuntimeError("device lost")
            pause = self.delay + random.Random(call).uniform(0, self.jitter)
            time.sleep(self.first_delay if call == 1 and self.first_delay else pause)
            return self.inner.infer(batch)
        finally:
            with self._lock:
                self.active -= 1
                self._first_running = self._first_running and call != 1


def runner(
    name: str = "det",
    path: Path = DETECT,
    delay: float = 0.0,
    fail_every: int = 0,
    fixed_batch: int | None = None,
    max_batch: int = 8,
    pipelined: bool = True,
    instances: int = 1,
    jitter: float = 0.0,
    first_delay: float = 0.0,
) -> tuple[ModelRunner, SpyBackend]:
    model = Model.open(path)
    spy = SpyBackend(model.backend, delay, fail_every, jitter, first_delay)
    spec = model.spec if fixed_batch is None else dataclasses.replace(model.spec, batch=fixed_batch)
    runner = ModelRunner(name, Model(spec, spy), max_batch=max_batch, pipelined=pipelined, instances=instances)
    return runner, spy


class DevicePreprocessBackend(SpyBackend):
    """A backend that preprocesses "on its device": it overrides infer_images, as TensorRT does."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.image_batches: list[int] = []

    def infer_images(
        self, images: Sequence[npt.NDArray[np.uint8]], cfg: PreprocessConfig
    ) -> tuple[list[npt.NDArray[np.generic]], list[Geometry]]:
        self.image_batches.append(len(images))
        batch, geometries = preprocess(images, cfg)
        return self.infer(batch), geometries


def plan(name: str, uri: str | Path, models: tuple[str, ...], **kw: object) -> StreamPlan:
    return StreamPlan(SourceSettings(name, parse_uri(str(uri)), **kw), models)  # type: ignore[arg-type]
