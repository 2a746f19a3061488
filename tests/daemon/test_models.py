"""TensorRT models in the daemon: it serves while their engines build, attaches them when ready.

TensorRT cannot run here, so the engine manager gets a build function that writes a stand-in
engine (after a gate opens) and the "engine" opens as the ONNX Runtime backend on the same
model: everything else (the cache, the background build, the pipeline waiting and attaching,
stats, failures remembered across restarts) is the real code.
"""

from __future__ import annotations

import logging
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edge.backends import Backend
from edge.backends.onnxruntime import OnnxRuntimeBackend
from edge.config import parse_config
from edge.daemon.models import EngineSupport
from edge.daemon.runner import Daemon, RunSummary
from edge.engines.errors import EngineLoadError
from edge.engines.manager import EngineManager
from edge.engines.store import EngineStore
from edge.models import ModelSpec
from tests.engines.common import DEVICE, FakeBuilder
from tests.helpers import FIXTURE_MODELS
from tests.pipeline.helpers import MemorySink

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
CLASSIFY = FIXTURE_MODELS / "shapes-classify.onnx"


class StandIn:
    """Engine support for one test: a store, a gated fake builder, an opener that counts."""

    def __init__(self, engines: Path, build: FakeBuilder, refuse_first_open: bool = False) -> None:
        self.store = EngineStore(engines)
        self.build = build
        self.opened: list[Path] = []
        self.refuse = refuse_first_open

    def open_engine(self, spec: ModelSpec, engine: Path) -> Backend:
        assert engine.read_bytes().startswith(b"engine:")  # what the fake builder wrote
        self.opened.append(engine)
        if self.refuse:
            self.refuse = False
            raise EngineLoadError("TensorRT cannot deserialize the engine: version tag mismatch")
        return OnnxRuntimeBackend(spec.onnx_path, threads=1)

    def __call__(self) -> EngineSupport:
        return EngineSupport(EngineManager(self.store, self.build, DEVICE), self.open_engine)


def config(clip: Path, det_backend: str = "tensorrt", extra: str = "") -> str:
    return (
        textwrap.dedent(f"""\
        models:
          det:
            path: {DETECT}
            backend: {det_backend}
            tensorrt: {{precision: fp16}}
          cls: {{path: {CLASSIFY}}}
        streams:
          cam: {{uri: {clip}, models: [det], realtime: false}}
          door: {{uri: {clip}, models: [cls], realtime: true}}
        """)
        + extra
    )


@dataclass
class Running:
    sink: MemorySink
    stop: threading.Event
    thread: threading.Thread
    summary: list[RunSummary] = field(default_factory=list)

    def finish(self, timeout: float = 30.0) -> RunSummary:
        self.thread.join(timeout)
        assert not self.thread.is_alive() and self.summary, "the daemon did not finish"
        return self.summary[0]


def start(text: str, support: Callable[[], EngineSupport] | None) -> Running:
    """The daemon on its own thread (at most 30 s), results into a memory sink."""
    sink = MemorySink()
    daemon = Daemon(parse_config(text), extra_sinks=[sink], stats_interval=0.2, engine_support=support)
    stop = threading.Event()
    run = Running(sink, stop, threading.Thread(target=lambda: run.summary.append(daemon.run(stop, 30.0))))
    run.thread.start()
    return run


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_daemon_serves_while_an_engine_builds_then_infers_every_frame(short_clip: Path, tmp_path: Path) -> None:
    gate = threading.Event()
    support = StandIn(tmp_path / "engines", FakeBuilder(gate=gate))
    run = start(config(short_clip), support)
    sink = run.sink
    # While det's engine builds: the other stream is served, cam waits and stats say why.
    wait_for(lambda: len(sink.frames("door", "cls")) >= 5)
    wait_for(lambda: bool(sink.stats))
    snap = sink.stats[-1]
    assert snap.models["det"].startswith("building: waiting for its TensorRT engine")
    assert snap.models["cls"] == "ready"
    assert snap.streams["cam"].waiting_for == ["det"]  # type: ignore[attr-defined]
    assert sink.frames("cam", "det") == []
    gate.set()
    summary = run.finish()
    # The file stream waited for its engine: nothing was lost, nothing reordered.
    assert sink.frames("cam", "det") == list(range(60))
    assert sink.frames("door", "cls") == list(range(60))
    assert summary.ok and summary.models["det"] == "ready"
    assert len(support.build.calls) == 1 and len(support.opened) == 1


def test_a_second_start_with_the_same_inputs_builds_nothing(short_clip: Path, tmp_path: Path) -> None:
    first = StandIn(tmp_path / "engines", FakeBuilder())
    start(config(short_clip), first).finish()
    assert len(first.build.calls) == 1
    again = StandIn(tmp_path / "engines", FakeBuilder())
    run = start(config(short_clip), again)
    sink = run.sink
    summary = run.finish()
    assert again.build.calls == [] and len(again.opened) == 1
    assert summary.ok and sink.frames("cam", "det") == list(range(60))


def test_a_failed_build_is_reported_and_not_retried_until_inputs_change(
    short_clip: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failing = StandIn(tmp_path / "engines", FakeBuilder(error=MemoryError("out of memory")))
    with caplog.at_level(logging.ERROR):
        run = start(config(short_clip), failing)
        sink = run.sink
        summary = run.finish()
    assert "det" in summary.failed_models and "out of memory" in summary.models["det"]
    assert sink.frames("door", "cls") == list(range(60))  # the other stream never noticed
    assert summary.streams["cam"].waiting_for == []
    assert any("out of memory" in r.getMessage() for r in caplog.records)
    # A restart with the same inputs reports the remembered failure without building again.
    again = StandIn(tmp_path / "engines", FakeBuilder())
    summary = start(config(short_clip), again).finish()
    assert again.build.calls == [] and "out of memory" in summary.models["det"]
    # New build options are new inputs: this time it builds.
    fp32 = config(short_clip).replace("precision: fp16", "precision: fp32")
    third = StandIn(tmp_path / "engines", FakeBuilder())
    run = start(fp32, third)
    sink = run.sink
    summary = run.finish()
    assert len(third.build.calls) == 1 and summary.ok and sink.frames("cam", "det") == list(range(60))


def test_a_cached_engine_tensorrt_refuses_is_moved_aside_and_rebuilt(short_clip: Path, tmp_path: Path) -> None:
    start(config(short_clip), StandIn(tmp_path / "engines", FakeBuilder())).finish()
    refusing = StandIn(tmp_path / "engines", FakeBuilder(), refuse_first_open=True)
    run = start(config(short_clip), refusing)
    sink = run.sink
    summary = run.finish()
    assert len(refusing.build.calls) == 1 and len(refusing.opened) == 2
    assert summary.ok and sink.frames("cam", "det") == list(range(60))
    assert list((tmp_path / "engines").rglob("*.engine.corrupt-*"))  # kept aside for inspection


def test_a_live_stream_waiting_for_its_engine_counts_every_frame_it_drops(short_clip: Path, tmp_path: Path) -> None:
    gate = threading.Event()
    support = StandIn(tmp_path / "engines", FakeBuilder(gate=gate))
    text = config(short_clip).replace("models: [det], realtime: false}", "models: [det], live: true}")
    run = start(text, support)
    sink = run.sink
    wait_for(lambda: any(s.streams["cam"].dropped >= 5 for s in sink.stats))
    gate.set()
    wait_for(lambda: len(sink.frames("cam", "det")) >= 3)
    run.stop.set()
    summary = run.finish()
    h = summary.streams["cam"]
    assert h.inferred + h.dropped == h.frames_read  # every frame read is inferred or counted
    assert h.dropped >= 5 and h.inferred >= 3


def test_backend_tensorrt_without_tensorrt_fails_that_model_in_one_line(
    short_clip: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The real engine support: TensorRT is not installed on this machine.
    text = config(short_clip) + f"engines: {tmp_path / 'engines'}\n"
    with caplog.at_level(logging.ERROR):
        run = start(text, None)
        sink = run.sink
        summary = run.finish()
    assert summary.failed_models == ("det",)
    assert "pip install 'edge[tensorrt]'" in summary.models["det"]
    assert sink.frames("door", "cls") == list(range(60))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(e.startswith("model det: ") and "\n" not in e for e in errors)
