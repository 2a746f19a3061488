"""Whether the daemon is making progress, from the pipeline's counters: what gates ``WATCHDOG=1``.

A model worker is stuck when it has frames waiting and has finished no inference for its stall
limit: ``watchdog.stall`` seconds, or twenty times its own recent inference time when that is
longer, so a slow model on a small Jetson is not taken for a hung one. A sink is stuck when one
result has been inside its ``publish`` for the stall limit (e.g. the MQTT spool's disk write
blocks). A stream whose source is reconnecting delivers no frames, so it leaves nothing
waiting and never counts as stuck; nor does a model still waiting for its TensorRT engine,
which has no worker yet.

The counters are sampled: a worker's clock starts at the first check that saw it with work
after being idle, or at the last check that saw its count move, so a stall is seen within the
limit plus one check interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from edge.pipeline.fanout import SinkBusy
from edge.pipeline.worker import WorkerProgress

SLOW_MODEL_FACTOR = 20.0


@dataclass(frozen=True)
class Stall:
    """What stopped: ``what`` ("model det", "sink MqttSink"), since when (monotonic clock)."""

    what: str
    since: float
    waiting: int = 0  # frames waiting for a stuck model

    def describe(self, now: float, wall_now: float | None = None) -> str:
        wall = (time.time() if wall_now is None else wall_now) - (now - self.since)
        at = time.strftime("%H:%M:%S", time.localtime(wall))
        if self.what.startswith("model "):
            return (
                f"{self.what} stalled: no inference finished since {at} ({now - self.since:.0f} s) "
                f"with {self.waiting} frames waiting"
            )
        return f"{self.what} stalled: a result has been waiting to be accepted since {at} ({now - self.since:.0f} s)"


@dataclass
class _Seen:
    serial: int
    completed: int
    waiting: int
    since: float


class Watchdog:
    """Call :meth:`check` every tick with the current counters; it says what is stuck, if anything."""

    def __init__(self, stall: float, clock: Callable[[], float] = time.monotonic) -> None:
        if stall <= 0:
            raise ValueError(f"the stall limit must be more than 0 seconds, got {stall}")
        self.stall = stall
        self._clock = clock
        self._seen: dict[str, _Seen] = {}

    def limit(self, progress: WorkerProgress) -> float:
        return max(self.stall, SLOW_MODEL_FACTOR * progress.infer_seconds)

    def check(self, workers: Mapping[str, WorkerProgress], sink: SinkBusy | None = None) -> Stall | None:
        """The longest-standing stall now, or None while everything progresses."""
        now = self._clock()
        stalls: list[Stall] = []
        for name, p in workers.items():
            seen = self._seen.get(name)
            if (
                seen is None
                or (seen.serial, seen.completed) != (p.serial, p.completed)
                or 0 in (p.waiting, seen.waiting)
            ):
                self._seen[name] = _Seen(p.serial, p.completed, p.waiting, now)
            elif now - seen.since > self.limit(p):
                stalls.append(Stall(f"model {name}", seen.since, p.waiting))
        for gone in set(self._seen) - set(workers):
            del self._seen[gone]
        if sink is not None and now - sink.since > self.stall:
            stalls.append(Stall(f"sink {sink.sink}", sink.since))
        return min(stalls, key=lambda s: s.since) if stalls else None


@dataclass(frozen=True)
class Verdict:
    """One tick's outcome: ping or not, and a line to log when the state changed."""

    ping: bool
    stall: Stall | None
    started: bool = False  # a stall began this tick
    ended: bool = False  # progress resumed this tick


class StallEpisodes:
    """Turns per-tick checks into one log line when a stall starts and one when it ends."""

    def __init__(self, watchdog: Watchdog) -> None:
        self.watchdog = watchdog
        self.current: Stall | None = None

    def tick(self, workers: Mapping[str, WorkerProgress], sink: SinkBusy | None = None) -> Verdict:
        stall = self.watchdog.check(workers, sink)
        started = stall is not None and self.current is None
        ended = stall is None and self.current is not None
        self.current = stall
        return Verdict(stall is None, stall, started, ended)
