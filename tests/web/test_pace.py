"""The back-off policy: load signals -> level -> tile interval and MJPEG rate, and the monitor that samples them."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest

from edge.messages import StatsSnapshot, StreamStats
from edge.web.load import LoadMonitor, WebCpu, _Sample, signals_between
from edge.web.pace import LIVE, MAX_STRETCH, WEB_BUDGET, Level, LoadSignals, Pace, level_of, next_pace

OVER, UNDER = WEB_BUDGET * 2, WEB_BUDGET / 4  # web CPU over the budget, well under it


@pytest.mark.parametrize(
    ("signals", "level"),
    [
        (LoadSignals(), Level.LIVE),  # an idle device
        (LoadSignals(busy=0.3), Level.LIVE),  # a camera at a third of the model's speed
        (LoadSignals(busy=0.59, waiting=0.2), Level.LIVE),
        (LoadSignals(busy=0.6), Level.BUSY),
        (LoadSignals(waiting=0.25), Level.BUSY),  # frames wait a quarter of the time
        (LoadSignals(busy=0.84, waiting=0.49, dropped=0.04), Level.BUSY),
        (LoadSignals(busy=0.85), Level.SATURATED),
        (LoadSignals(waiting=0.5), Level.SATURATED),  # file streams keep the inbox full
        (LoadSignals(dropped=0.05), Level.SATURATED),  # a live camera loses frames
        (LoadSignals(busy=1.0, waiting=1.0, dropped=0.5), Level.SATURATED),
        (LoadSignals(web_cpu=0.5), Level.LIVE),  # the web's own CPU is no load signal of inference
    ],
)
def test_the_level_follows_any_one_signal_past_its_mark(signals: LoadSignals, level: Level) -> None:
    assert level_of(signals) is level


SATURATED = LoadSignals(busy=1.0, waiting=1.0)
BUSY = LoadSignals(busy=0.7)
STRETCHED = Pace(Level.SATURATED, 2250, 2.0 / 2.25, 2.25)


@pytest.mark.parametrize(
    ("signals", "web_cpu", "previous", "tile_ms", "mjpeg_fps"),
    [
        (LoadSignals(), 0.0, LIVE, 250, 10.0),  # headroom: a few pictures a second
        (LoadSignals(), OVER, STRETCHED, 250, 10.0),  # headroom again: live at once, stretch forgotten
        (BUSY, UNDER, LIVE, 500, 4.0),
        (SATURATED, UNDER, LIVE, 1000, 2.0),  # saturated, web CPU small: the level's rates
        (SATURATED, OVER, Pace(Level.SATURATED, 1000, 2.0), 1500, 2.0 / 1.5),  # over budget: one step slower
        (SATURATED, OVER, STRETCHED, 3375, 2.0 / 3.375),
        (SATURATED, WEB_BUDGET * 0.75, STRETCHED, 2250, 2.0 / 2.25),  # within the budget: kept
        (SATURATED, UNDER, STRETCHED, 1500, 2.0 / 1.5),  # well under: one step back
        (BUSY, OVER, STRETCHED, 1688, 4.0 / 3.375),  # the stretch carries across pressure levels
        (SATURATED, OVER, Pace(Level.SATURATED, 6000, 1 / 3, MAX_STRETCH), 6000, 2.0 / MAX_STRETCH),  # bounded
    ],
)
def test_next_pace(signals: LoadSignals, web_cpu: float, previous: Pace, tile_ms: int, mjpeg_fps: float) -> None:
    pace = next_pace(LoadSignals(signals.busy, signals.waiting, signals.dropped, web_cpu), previous)
    assert pace.tile_ms == tile_ms
    assert pace.mjpeg_fps == pytest.approx(mjpeg_fps)


def test_a_saturated_pace_relaxes_step_by_step_back_to_its_level() -> None:
    pace = Pace(Level.SATURATED, 6000, 1 / 3, MAX_STRETCH)
    seen = []
    for _ in range(6):
        pace = next_pace(LoadSignals(busy=1.0, web_cpu=UNDER), pace)
        seen.append(pace.tile_ms)
    assert seen == [4000, 2667, 1778, 1185, 1000, 1000]


def _sample(at: float, infer: float, dropped: int, inferred: int, waiting: bool, cpu: float) -> _Sample:
    return _Sample(at, {"det": infer, "cls": infer / 4}, dropped, inferred, waiting, cpu)


@pytest.mark.parametrize(
    ("samples", "signals"),
    [
        # The detector inferred 2.7 s of the 3 s; frames waited in two samples of four; 2 cores.
        (
            [_sample(0, 0, 0, 0, True, 0), _sample(1, 1, 0, 50, False, 0.03), _sample(3, 2.7, 0, 150, True, 0.06)],
            LoadSignals(busy=0.9, waiting=2 / 3, dropped=0.0, web_cpu=0.01),
        ),
        # 30 of 150 dropped; busy above 1 (two instances) reads as 1.
        (
            [_sample(10, 5, 100, 0, False, 1), _sample(12, 9, 130, 120, False, 1)],
            LoadSignals(busy=1.0, waiting=0.0, dropped=0.2, web_cpu=0.0),
        ),
    ],
)
def test_signals_between_samples(samples: list[_Sample], signals: LoadSignals) -> None:
    got = signals_between(samples, cores=2)
    for name in ("busy", "waiting", "dropped", "web_cpu"):
        assert getattr(got, name) == pytest.approx(getattr(signals, name)), name


class FakeLoad:
    """A pipeline whose queue depth and inference time the test sets, on a clock it moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.queued = 0
        self.infer = 0.0

    def snapshot(self) -> StatsSnapshot:
        stats = StreamStats(1.0, 1.0, 0, self.queued, 0.0, 0.0, "running")
        return StatsSnapshot(self.now, {"cam": stats}, {"det": "ready"})

    def infer_seconds(self) -> Mapping[str, float]:
        return {"det": self.infer}

    def advance(self, seconds: float, busy: float) -> None:
        self.now += seconds
        self.infer += seconds * busy


def test_the_monitor_backs_off_under_load_and_recovers() -> None:
    load = FakeLoad()
    monitor = LoadMonitor(load.snapshot, load.infer_seconds, WebCpu(), cores=2, clock=lambda: load.now)
    assert monitor.pace() is LIVE  # one sample says nothing yet
    load.queued = 2
    for _ in range(8):  # 4 s of a model busy all the time, frames waiting
        load.advance(0.5, 1.0)
        monitor.pace()
    assert monitor.pace().level is Level.SATURATED and monitor.pace().tile_ms >= 1000
    load.queued = 0
    for _ in range(10):  # 5 s of a model busy a fifth of the time
        load.advance(0.5, 0.2)
        monitor.pace()
    assert monitor.pace() == LIVE


def test_the_monitor_forgets_samples_older_than_a_pause() -> None:
    load = FakeLoad()
    monitor = LoadMonitor(load.snapshot, load.infer_seconds, WebCpu(), cores=2, clock=lambda: load.now)
    load.queued = 2
    for _ in range(6):
        load.advance(0.5, 1.0)
        monitor.pace()
    assert monitor.current.level is Level.SATURATED
    load.queued = 0
    load.advance(60, 0.0)  # nobody watched for a minute: the saturated samples are not mixed in
    monitor.pace()
    load.advance(0.5, 0.1)
    assert monitor.pace() == LIVE


def test_web_cpu_counts_each_threads_own_clock() -> None:
    cpu = WebCpu()
    cpu.sample()
    spin_until = time.thread_time() + 0.05
    while time.thread_time() < spin_until:
        pass
    cpu.sample()
    assert 0.04 <= cpu.seconds <= 0.5
