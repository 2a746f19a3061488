from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.engines.manager import EngineManager, EngineState, EngineStatus
from edge.engines.options import BuildOptions, Precision
from edge.engines.progress import PhaseProgress, ProgressSnapshot
from edge.engines.store import EngineStore
from edge.models import load_spec
from edge.models.spec import ModelSpec
from tests.engines.common import DEVICE, FakeBuilder, detect_model

FP16, FP32 = BuildOptions(), BuildOptions(precision=Precision.FP32)


@pytest.fixture
def spec(tmp_path: Path) -> ModelSpec:
    return load_spec(detect_model(tmp_path, name="cam"))


@pytest.fixture
def store(tmp_path: Path) -> EngineStore:
    return EngineStore(tmp_path / "engines")


def _manager(store: EngineStore, build: FakeBuilder, heard: list[EngineStatus] | None = None) -> EngineManager:
    return EngineManager(store, build, DEVICE, on_status=heard.append if heard is not None else None)


def test_request_returns_at_once_and_the_engine_becomes_ready(spec: ModelSpec, store: EngineStore) -> None:
    gate = threading.Event()
    heard: list[EngineStatus] = []
    mgr = _manager(store, FakeBuilder(gate=gate), heard)
    status = mgr.request(spec, FP16)
    assert status.state is EngineState.BUILDING and "waiting for its TensorRT engine" in status.describe()
    assert mgr.wait("cam", timeout=0.05).state is EngineState.BUILDING
    gate.set()
    ready = mgr.wait("cam", timeout=5)
    assert ready.state is EngineState.READY and ready.engine_path is not None and ready.engine_path.is_file()
    states = [s.state for s in heard]
    assert states[0] is EngineState.BUILDING and states[-1] is EngineState.READY
    assert any(s.progress is not None and s.progress.phases for s in heard)  # the build's phase was announced
    mgr.close()


def test_a_restart_with_the_same_inputs_is_ready_without_building(spec: ModelSpec, store: EngineStore) -> None:
    first = _manager(store, FakeBuilder())
    first.request(spec, FP16)
    assert first.wait("cam", 5).state is EngineState.READY
    first.close()
    build = FakeBuilder()
    again = _manager(store, build)
    assert again.request(spec, FP16).state is EngineState.READY and build.calls == []
    again.close()


def test_a_failed_build_is_reported_and_retried_only_when_inputs_change(spec: ModelSpec, store: EngineStore) -> None:
    build = FakeBuilder(error=MemoryError("out of memory"))
    mgr = _manager(store, build)
    mgr.request(spec, FP16)
    failed = mgr.wait("cam", 5)
    assert failed.state is EngineState.FAILED and "out of memory" in (failed.reason or "")
    assert mgr.request(spec, FP16).state is EngineState.FAILED
    mgr.close()
    restarted = _manager(store, build)
    assert restarted.request(spec, FP16).state is EngineState.FAILED  # remembered across restarts
    assert len(build.calls) == 1
    build.error = None
    assert restarted.request(spec, FP32).state is EngineState.BUILDING  # new inputs: tried again
    assert restarted.wait("cam", 5).state is EngineState.READY and len(build.calls) == 2
    restarted.close()


def test_without_tensorrt_every_model_is_unavailable(spec: ModelSpec, store: EngineStore) -> None:
    mgr = EngineManager(store, FakeBuilder(), None, unavailable_reason="no module named 'tensorrt'")
    status = mgr.request(spec, FP16)
    assert status.state is EngineState.UNAVAILABLE and "no module named 'tensorrt'" in status.describe()
    assert mgr.status("other").state is EngineState.UNAVAILABLE


def test_options_that_cannot_be_planned_fail_at_once(spec: ModelSpec, store: EngineStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    opts = BuildOptions(precision=Precision.INT8, calibration_dir=tmp_path / "empty")
    status = _manager(store, FakeBuilder()).request(spec, opts)
    assert status.state is EngineState.FAILED and "has no images" in (status.reason or "")


def test_an_engine_that_will_not_load_is_rebuilt(spec: ModelSpec, store: EngineStore) -> None:
    build = FakeBuilder()
    mgr = _manager(store, build)
    mgr.request(spec, FP16)
    ready = mgr.wait("cam", 5)
    status = mgr.engine_invalid("cam", "TensorRT cannot deserialize the engine")
    assert status.state is EngineState.BUILDING
    assert mgr.wait("cam", 5).state is EngineState.READY and len(build.calls) == 2
    assert ready.engine_path is not None and any(ready.engine_path.parent.glob("*.corrupt-*"))
    mgr.close()


def test_an_engine_found_in_the_cache_that_will_not_load_is_rebuilt(spec: ModelSpec, store: EngineStore) -> None:
    first = _manager(store, FakeBuilder())
    first.request(spec, FP16)
    first.wait("cam", 5)
    first.close()
    build = FakeBuilder()
    restarted = _manager(store, build)
    assert restarted.request(spec, FP16).state is EngineState.READY
    assert restarted.engine_invalid("cam", "deserialization failed").state is EngineState.BUILDING
    assert restarted.wait("cam", 5).state is EngineState.READY and len(build.calls) == 1
    restarted.close()


def test_new_inputs_supersede_a_running_build(spec: ModelSpec, store: EngineStore) -> None:
    gate = threading.Event()
    build = FakeBuilder(gate=gate)
    mgr = _manager(store, build)
    old = mgr.request(spec, FP16)
    assert build.started.wait(5)
    new = mgr.request(spec, FP32)
    assert new.key != old.key
    gate.set()
    done = mgr.wait("cam", 5)
    assert done.state is EngineState.READY and done.key == new.key
    assert store.read_manifest("cam", old.key or "") is None  # the cancelled build stored nothing
    mgr.close()


def test_close_cancels_a_running_build(spec: ModelSpec, store: EngineStore) -> None:
    build = FakeBuilder(gate=threading.Event())  # would never finish by itself
    mgr = _manager(store, build)
    mgr.request(spec, FP16)
    assert build.started.wait(5)
    mgr.close(timeout=5)
    assert mgr._worker is not None and not mgr._worker.is_alive()
    assert store.failure("cam", mgr.status("cam").key or "") is None


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (EngineStatus("cam", EngineState.READY), "cam: TensorRT engine ready"),
        (EngineStatus("cam", EngineState.BUILDING), "cam: waiting for its TensorRT engine (build queued or starting)"),
        (
            EngineStatus(
                "cam",
                EngineState.BUILDING,
                progress=ProgressSnapshot((PhaseProgress("Building engine", 4, 1),), 0.25, 3),
            ),
            "cam: waiting for its TensorRT engine: 25% (Building engine (1/4))",
        ),
        (
            EngineStatus("cam", EngineState.FAILED, reason="out of memory"),
            "cam: TensorRT engine build failed: out of memory",
        ),
        (EngineStatus("cam", EngineState.UNAVAILABLE, reason="no GPU"), "cam: TensorRT unavailable: no GPU"),
    ],
)
def test_status_lines(status: EngineStatus, text: str) -> None:
    assert status.describe() == text
