"""The pipeline's load and the web threads' CPU, sampled only while someone watches, as a Pace.

Nothing here runs on its own thread: the picture routes ask :meth:`LoadMonitor.pace` (on the
HTTP loop), which takes a sample when the last is old enough and decides a new pace every
:data:`STEP` seconds from the samples of the last :data:`WINDOW`. With no viewer it costs nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edge.messages import StatsSnapshot
from edge.web.pace import LIVE, WEB_BUDGET, LoadSignals, Pace, next_pace

SAMPLE_EVERY = 0.5  # seconds between samples (the picture routes' snapshot is as old as this anyway)
STEP = 1.5  # seconds between pace decisions: a change shows in the CPU measured before the next
WINDOW = 3.0  # seconds of samples a decision reads


class WebCpu:
    """CPU seconds the web side's threads used, from each thread's own CPU clock.

    A web thread calls :meth:`sample` after its work (a request on the HTTP loop, an encode):
    it adds what that thread's clock moved since its previous call. ``time.thread_time`` is
    per thread and fine-grained, unlike /proc's 10 ms ticks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, float] = {}
        self._total = 0.0

    def sample(self) -> None:
        now, ident = time.thread_time(), threading.get_ident()
        with self._lock:
            last = self._last.get(ident)
            self._last[ident] = now
            if last is not None and now > last:  # a reused ident's new thread starts below: rebase
                self._total += now - last

    def forget(self) -> None:
        """The calling thread ends: sample it one last time and drop its entry."""
        self.sample()
        with self._lock:
            self._last.pop(threading.get_ident(), None)

    @property
    def seconds(self) -> float:
        with self._lock:
            return self._total


@dataclass(frozen=True)
class _Sample:
    at: float
    infer_seconds: Mapping[str, float]  # per model, summed since start
    dropped: int  # (frame, model) pairs dropped or failed, all streams, since start
    inferred: int
    waiting: bool  # some stream had a frame queued
    web_cpu: float  # WebCpu.seconds


def signals_between(samples: list[_Sample], cores: int) -> LoadSignals:
    """The load over ``samples`` (oldest first, at least two)."""
    first, last = samples[0], samples[-1]
    span = max(1e-6, last.at - first.at)
    busy = max(
        (
            (last.infer_seconds[m] - first.infer_seconds[m]) / span
            for m in last.infer_seconds.keys() & first.infer_seconds.keys()
        ),
        default=0.0,
    )
    lost = last.dropped - first.dropped
    done = last.inferred - first.inferred
    return LoadSignals(
        busy=min(1.0, max(0.0, busy)),
        waiting=sum(s.waiting for s in samples) / len(samples),
        dropped=lost / (lost + done) if lost > 0 else 0.0,
        web_cpu=max(0.0, last.web_cpu - first.web_cpu) / span / max(1, cores),
    )


class LoadMonitor:
    def __init__(
        self,
        snapshot: Callable[[], StatsSnapshot],
        infer_seconds: Callable[[], Mapping[str, float]],
        cpu: WebCpu,
        budget: float = WEB_BUDGET,
        cores: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._snapshot, self._infer_seconds, self.cpu = snapshot, infer_seconds, cpu
        self._budget, self._cores, self._clock = budget, cores or os.cpu_count() or 1, clock
        self._lock = threading.Lock()
        self._samples: deque[_Sample] = deque()
        self._pace = LIVE
        self._signals = LoadSignals()
        self._decided = -1e9

    @property
    def current(self) -> Pace:
        """The pace decided last, without sampling (for threads other than the HTTP loop)."""
        return self._pace

    @property
    def signals(self) -> LoadSignals:
        return self._signals

    def pace(self) -> Pace:
        """The current pace; takes a sample first when one is due, and decides when a step is."""
        now = self._clock()
        with self._lock:
            due = not self._samples or now - self._samples[-1].at >= SAMPLE_EVERY
        if due:
            sample = self._take(now)  # outside the lock: it reads the pipeline's own locks
            with self._lock:
                self._add(sample)
        return self._pace

    def _take(self, now: float) -> _Sample:
        snap = self._snapshot()
        dropped = inferred = 0
        waiting = False
        for s in snap.streams.values():
            dropped += s.dropped
            inferred += int(getattr(s, "inferred", 0))
            waiting = waiting or s.queue_depth > 0
        return _Sample(now, dict(self._infer_seconds()), dropped, inferred, waiting, self.cpu.seconds)

    def _add(self, sample: _Sample) -> None:
        if self._samples and sample.at - self._samples[-1].at > WINDOW:
            self._samples.clear()  # nobody watched for a while: the old samples say nothing of now
        self._samples.append(sample)
        while sample.at - self._samples[0].at > WINDOW:
            self._samples.popleft()
        if len(self._samples) >= 2 and sample.at - self._decided >= STEP:
            self._signals = signals_between(list(self._samples), self._cores)
            self._pace = next_pace(self._signals, self._pace, self._budget)
            self._decided = sample.at
