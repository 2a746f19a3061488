"""``/api/status`` while a TensorRT engine builds: state, seconds waited and the build's progress.

TensorRT cannot run here: the engine manager gets the engines tests' gated fake builder, which
reports progress through the real tracker, and the "engine" opens as ONNX Runtime.
"""

from __future__ import annotations

import threading
from pathlib import Path

from edge.backends import Backend
from edge.backends.onnxruntime import OnnxRuntimeBackend
from edge.daemon.models import EngineSupport
from edge.engines.manager import EngineManager, EngineState, EngineStatus
from edge.engines.progress import ProgressSnapshot
from edge.engines.report import EngineReport, engine_report
from edge.engines.store import EngineStore
from edge.models import ModelSpec
from tests.engines.common import DEVICE, FakeBuilder
from tests.serve.helpers import DETECT, request, serve, wait_for


def _open(spec: ModelSpec, engine: Path) -> Backend:
    return OnnxRuntimeBackend(spec.onnx_path, threads=1)


def test_status_reports_a_build_in_progress_then_ready(short_clip: Path, tmp_path: Path) -> None:
    gate = threading.Event()
    builder = FakeBuilder(gate=gate)
    store = EngineStore(tmp_path / "engines")
    text = (
        f"models:\n  det: {{path: {DETECT}, backend: tensorrt}}\n"
        f"streams:\n  cam: {{uri: '{short_clip}', models: [det]}}\n"
        f"http: {{port: 0}}\nstate_dir: {tmp_path / 'state'}\n"
    )
    run = serve(text, support=lambda: EngineSupport(EngineManager(store, builder, DEVICE), _open))
    try:
        assert builder.started.wait(20)

        def building() -> dict[str, object]:
            engine: dict[str, object] = request(run.url + "/api/status").json()["engines"]["det"]
            return engine

        wait_for(lambda: building().get("progress") is not None, 20)
        first = building()
        assert first["state"] == "building" and str(first["phase"]).startswith("Building engine")
        assert 0.0 <= float(str(first["progress"])) < 1.0
        wait_for(lambda: float(str(building()["elapsed"])) > float(str(first["elapsed"])), 10)  # the clock runs
        gate.set()
        wait_for(lambda: building()["state"] == "ready", 20)
        assert building() == {"state": "ready", "elapsed": None, "progress": None, "phase": None, "reason": None}
    finally:
        gate.set()
        run.finish()


def test_an_onnxruntime_model_has_no_engine_entry(short_clip: Path, tmp_path: Path) -> None:
    text = (
        f"models:\n  det: {{path: {DETECT}}}\n"
        f"streams:\n  cam: {{uri: '{short_clip}', models: [det]}}\n"
        f"http: {{port: 0}}\nstate_dir: {tmp_path}\n"
    )
    run = serve(text)
    try:
        assert request(run.url + "/api/status").json()["engines"] == {}
    finally:
        run.finish()


def test_a_queued_build_has_elapsed_time_but_no_fraction_yet() -> None:
    status = EngineStatus("det", EngineState.BUILDING, "k")
    assert engine_report(status, since=10.0, now=12.5) == EngineReport("building", 2.5, None, "queued or starting")
    snap = ProgressSnapshot((), None, 1.0)
    assert engine_report(EngineStatus("det", EngineState.BUILDING, "k", progress=snap), 10.0, 11.0).progress is None
    failed = EngineStatus("det", EngineState.FAILED, "k", reason="out of memory")
    assert engine_report(failed, None, 0.0) == EngineReport("failed", reason="out of memory")
