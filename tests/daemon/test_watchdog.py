"""The progress-aware watchdog: unit cases over counters, then the daemon with a real notify socket."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import edge.daemon.models
from edge.backends import Backend
from edge.cli import main
from edge.config import parse_config
from edge.daemon.runner import Daemon, RunSummary
from edge.daemon.watchdog import StallEpisodes, Watchdog
from edge.messages import ResultMessage, Sink
from edge.model import Model
from edge.pipeline.fanout import SinkBusy
from edge.pipeline.worker import WorkerProgress
from tests.clips import RtspServer
from tests.helpers import FIXTURE_MODELS
from tests.pipeline.helpers import MemorySink

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


# -- the health rule, on counters ------------------------------------------------------------


def wp(completed: int, waiting: int, infer: float = 0.01, serial: int = 1) -> WorkerProgress:
    return WorkerProgress(serial, completed, waiting, infer)


# Each case: (seconds since start, the worker's progress) per check, and what the last check says.
@pytest.mark.parametrize(
    ("ticks", "stalled"),
    [
        ([(0, wp(0, 0)), (20, wp(0, 0))], None),  # idle for long: nothing to do is not stuck
        ([(0, wp(5, 2)), (9, wp(5, 2))], None),  # waiting, but under the 10 s limit
        ([(0, wp(5, 2)), (11, wp(5, 2))], 0.0),  # waiting and no inference for 11 s
        ([(0, wp(5, 2)), (6, wp(6, 2)), (15, wp(6, 2))], None),  # progress at 6 restarts the clock
        ([(0, wp(5, 2)), (6, wp(6, 2)), (17, wp(6, 2))], 6.0),
        ([(0, wp(5, 0)), (5, wp(5, 2)), (14, wp(5, 2))], None),  # work first seen at 5: 9 s
        ([(0, wp(5, 2, infer=1.0)), (15, wp(5, 2, infer=1.0))], None),  # a slow model: 20 x 1 s
        ([(0, wp(5, 2, infer=1.0)), (21, wp(5, 2, infer=1.0))], 0.0),
        ([(0, wp(5, 2)), (8, wp(0, 2, serial=2)), (16, wp(0, 2, serial=2))], None),  # replaced at 8
    ],
    ids=[
        "idle",
        "under-limit",
        "stalled",
        "progress-resets",
        "stalled-after-progress",
        "work-arrives-late",
        "slow-model-under-20x",
        "slow-model-over-20x",
        "replaced-worker",
    ],
)
def test_worker_stall_rule(ticks: list[tuple[float, WorkerProgress]], stalled: float | None) -> None:
    now = [0.0]
    dog = Watchdog(10.0, clock=lambda: now[0])
    result = None
    for at, progress in ticks:
        now[0] = at
        result = dog.check({"det": progress})
    assert (result.since if result else None) == stalled
    if result is not None:
        assert result.what == "model det" and result.waiting == 2


@pytest.mark.parametrize(
    ("busy", "stalled"),
    [(None, False), (SinkBusy("MqttSink", 95.0), False), (SinkBusy("MqttSink", 89.0), True)],
)
def test_a_sink_holding_one_result_past_the_limit_is_stuck(busy: SinkBusy | None, stalled: bool) -> None:
    dog = Watchdog(10.0, clock=lambda: 100.0)
    result = dog.check({}, busy)
    assert (result is not None) == stalled
    if result is not None:
        assert result.what == "sink MqttSink"
        assert "waiting to be accepted since" in result.describe(100.0, wall_now=0.0)


def test_episodes_report_a_stall_once_and_its_end_once() -> None:
    now = [0.0]
    episodes = StallEpisodes(Watchdog(1.0, clock=lambda: now[0]))
    verdicts = []
    for at, done in [(0, 1), (2, 1), (3, 1), (4, 2), (5, 3)]:
        now[0] = at
        verdicts.append(episodes.tick({"det": wp(done, 1)}))
    assert [v.ping for v in verdicts] == [True, False, False, True, True]
    assert [v.started for v in verdicts] == [False, True, False, False, False]
    assert [v.ended for v in verdicts] == [False, False, False, True, False]


# -- the daemon, a real notify socket, a backend that hangs on demand --------------------------


class HangingBackend(Backend):
    """The real backend, except that an inference started while ``hang`` is set waits for it to clear."""

    def __init__(self, inner: Backend, hang: threading.Event) -> None:
        self.inner, self.hang = inner, hang
        self.inputs, self.outputs, self.name = inner.inputs, inner.outputs, f"hanging({inner.name})"
        self.hung = threading.Event()

    def infer(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.generic]]:
        while self.hang.is_set():
            self.hung.set()
            time.sleep(0.01)
        return self.inner.infer(batch)


@pytest.fixture
def hang(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Models the daemon opens get a backend that hangs while the returned event is set."""
    event = threading.Event()
    real_open = Model.open

    class HangingModel(Model):
        @classmethod
        def open(cls, path: str | Path, backend: str = "onnxruntime", **options: Any) -> Model:
            model = real_open(path, backend, **options)
            return Model(model.spec, HangingBackend(model.backend, event))

    monkeypatch.setattr(edge.daemon.models, "Model", HangingModel)
    return event


@dataclass
class NotifyListener:
    """A bound AF_UNIX datagram socket, as systemd's; records each message with its arrival time."""

    path: Path
    sock: socket.socket
    messages: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def pings(self) -> list[float]:
        with self.lock:
            return [t for t, m in self.messages if m == "WATCHDOG=1"]

    def statuses(self) -> list[str]:
        with self.lock:
            return [line[7:] for _, m in self.messages for line in m.splitlines() if line.startswith("STATUS=")]


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyListener]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    listener = NotifyListener(path, sock)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(INTERVAL * 2 * 1e6)))  # systemd's: we ping at half
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield listener
    sock.close()


INTERVAL = 0.2  # the ping interval the daemon derives from WATCHDOG_USEC
STALL = 2.0


def config(uri: str | Path, stall: float = STALL) -> str:
    return (
        f"models:\n  det: {{path: {DETECT}}}\n"
        f"streams:\n  cam: {{uri: '{uri}', models: [det], loop: true, reconnect_min: 0.2, reconnect_max: 0.5}}\n"
        f"watchdog: {{stall: {stall}}}\n"
    )


@dataclass
class Running:
    daemon: Daemon
    sink: MemorySink
    stop: threading.Event
    thread: threading.Thread
    summary: list[RunSummary]

    def finish(self, timeout: float = 30.0) -> RunSummary:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive() and self.summary
        return self.summary[0]


def start(text: str, sinks: tuple[Sink, ...] = (), **kw: Any) -> Running:
    sink = MemorySink()
    daemon = Daemon(parse_config(text), extra_sinks=[sink, *sinks], drain_timeout=5.0, **kw)
    stop = threading.Event()
    summary: list[RunSummary] = []
    thread = threading.Thread(target=lambda: summary.append(daemon.run(stop, 60.0)))
    thread.start()
    return Running(daemon, sink, stop, thread, summary)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def test_pings_stop_while_inference_hangs_and_resume_after(
    short_clip: Path, hang: threading.Event, notify: NotifyListener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    run = start(config(short_clip), stats_interval=0.3)  # stats update the status line too
    try:
        wait_for(lambda: len(run.sink.frames("cam", "det")) >= 10 and len(notify.pings()) >= 3, "results and pings")
        hang.set()
        hung_at = time.monotonic()
        wait_for(lambda: bool(notify.statuses()) and "stalled" in notify.statuses()[-1], "the stall status", 10)
        time.sleep(1.0)  # a quiet second after the stall was declared
        last = notify.pings()[-1]
        assert last - hung_at <= STALL + INTERVAL + 0.3, f"pinged {last - hung_at:.2f} s into the hang"
        assert time.monotonic() - last >= 1.0  # and none since
        assert notify.statuses()[-1].startswith("model det stalled: no inference finished since ")
        stall_lines = [r.getMessage() for r in caplog.records if "watchdog:" in r.getMessage()]
        assert len(stall_lines) == 1 and stall_lines[0].startswith("watchdog: model det stalled: ")

        hang.clear()
        resumed_at = time.monotonic()
        wait_for(lambda: notify.pings()[-1] > resumed_at, "pings after the hang ends", 5)
        wait_for(lambda: notify.statuses()[-1] == "progressing again", "the status to say so", 2)
        frames = run.sink.frames("cam", "det")
        assert frames == list(range(len(frames)))  # a file stream waited: nothing lost
    finally:
        summary = run.finish()
    assert summary.reason == "signal" and summary.ok


def test_a_camera_whose_rtsp_server_is_down_does_not_stop_the_pings(short_clip: Path, notify: NotifyListener) -> None:
    with RtspServer(short_clip) as server:
        run = start(config(server.uri, stall=1.0))
        try:
            wait_for(lambda: len(run.sink.frames("cam", "det")) >= 5, "results from the RTSP stream")
            server.stop()
            assert run.daemon.pipeline is not None
            pipeline = run.daemon.pipeline
            wait_for(lambda: pipeline.snapshot().streams["cam"].state == "reconnecting", "the stream to reconnect")
            since = time.monotonic()
            time.sleep(1.0 + 2 * INTERVAL + 1.0)  # past the stall limit and then some
            pings = [t for t in notify.pings() if t >= since]
            assert pipeline.snapshot().streams["cam"].state == "reconnecting"
            gaps = np.diff([since, *pings, time.monotonic()])
            assert gaps.max() <= 2 * INTERVAL + 0.3, f"a {gaps.max():.2f} s gap without pings"
            assert not any("stalled" in s for s in notify.statuses())
        finally:
            run.finish()


class BlockingSink(Sink):
    def __init__(self) -> None:
        self.block = threading.Event()

    def publish(self, message: ResultMessage) -> None:
        while self.block.is_set():
            time.sleep(0.01)


def test_exit_on_stall_ends_the_run_naming_a_blocked_sink(
    short_clip: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)  # outside systemd: the same logic, logged
    blocking = BlockingSink()
    run = start(config(short_clip, stall=1.0), (blocking,), exit_on_stall=True)
    wait_for(lambda: len(run.sink.frames("cam", "det")) >= 5, "results")
    blocking.block.set()
    blocked_at = time.monotonic()
    run.thread.join(15)
    blocking.block.clear()  # let the drain's thread go
    assert not run.thread.is_alive(), "the daemon did not exit on the stall"
    summary = run.summary[0]
    assert summary.reason == "stalled" and not summary.ok
    assert next(r.getMessage() for r in caplog.records if "watchdog:" in r.getMessage()).startswith(
        "watchdog: sink BlockingSink stalled: a result has been waiting to be accepted since "
    )
    assert time.monotonic() - blocked_at < 10


def test_edge_run_exit_on_stall_exits_non_zero(
    tmp_path: Path, short_clip: Path, hang: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(config(short_clip, stall=1.0))
    threading.Timer(1.5, hang.set).start()
    started = time.monotonic()
    try:
        assert main(["run", "--config", str(cfg), "--duration", "30", "--exit-on-stall"]) == 1
    finally:
        hang.clear()
    assert time.monotonic() - started < 15
    for t in threading.enumerate():  # the stuck worker, released, finishes its batch and ends
        if t.name.startswith(("prep-det", "infer-det", "post-det")):
            t.join(10)
