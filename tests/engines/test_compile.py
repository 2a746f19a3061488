from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.engines.compile import ensure_engine, open_engine
from edge.engines.errors import BuildCancelled, BuildError, EngineLoadError
from edge.engines.options import BatchProfile, Precision
from edge.engines.store import EngineStore
from tests.engines.common import FakeBuilder, detect_model, image_folder, request


@pytest.fixture
def store(tmp_path: Path) -> EngineStore:
    return EngineStore(tmp_path / "engines")


def test_the_request_keys_what_matters(tmp_path: Path, store: EngineStore) -> None:
    model = detect_model(tmp_path)
    base = request(tmp_path, model, store)
    assert base.model == "m" and base.profile.batch == BatchProfile(1, 1, 1) and base.key.builder_flags == ("FP16",)
    same = request(tmp_path, model, store)
    assert same.digest == base.digest
    for changed in (
        request(tmp_path, model, store, precision=Precision.FP32),
        request(tmp_path, model, store, batch=BatchProfile(1, 2, 4)),
        request(tmp_path, model, store, dla_core=0),
        request(tmp_path, model, store, workspace_mib=256),
        request(tmp_path, detect_model(tmp_path / "other", imgsz=96), store),
    ):
        assert changed.digest != base.digest
    assert base.timing_cache.parent == store.root / ".timing"


def test_int8_keys_the_calibration_data(tmp_path: Path, store: EngineStore) -> None:
    model = detect_model(tmp_path)
    calib = image_folder(tmp_path / "calib", 3)
    a = request(tmp_path, model, store, precision=Precision.INT8, calibration_dir=calib)
    assert a.key.calibration_sha256 is not None and a.calibration_cache is not None and len(a.calibration_images) == 3
    image_folder(tmp_path / "calib", 4)
    b = request(tmp_path, model, store, precision=Precision.INT8, calibration_dir=calib)
    assert b.digest != a.digest and b.calibration_cache != a.calibration_cache


def test_a_second_start_with_the_same_inputs_builds_nothing(tmp_path: Path, store: EngineStore) -> None:
    build = FakeBuilder()
    first = ensure_engine(store, request(tmp_path, store=store), build)
    again = ensure_engine(EngineStore(store.root), request(tmp_path, store=store), build)  # a new process
    assert first.built and not again.built and again.data == first.data and len(build.calls) == 1
    assert first.manifest.build_seconds >= 0 and first.engine_path.read_bytes() == first.data


def test_force_rebuilds(tmp_path: Path, store: EngineStore) -> None:
    build = FakeBuilder()
    ensure_engine(store, request(tmp_path, store=store), build)
    assert ensure_engine(store, request(tmp_path, store=store), build, force=True).built and len(build.calls) == 2


def test_a_corrupt_cached_engine_is_rebuilt(tmp_path: Path, store: EngineStore) -> None:
    build = FakeBuilder()
    got = ensure_engine(store, request(tmp_path, store=store), build)
    got.engine_path.write_bytes(got.data[:-3])  # truncated by a power cut, say
    again = ensure_engine(store, request(tmp_path, store=store), build)
    assert again.built and again.data == got.data and len(build.calls) == 2


def test_failures_are_remembered_for_the_daemon_and_retried_by_the_user(tmp_path: Path, store: EngineStore) -> None:
    build = FakeBuilder(error=RuntimeError("CUDA out of memory\ndetails"))
    req = request(tmp_path, store=store)
    with pytest.raises(BuildError, match=r"m: build failed: CUDA out of memory$"):
        ensure_engine(store, req, build, retry_failed=False)
    with pytest.raises(BuildError, match="last build with these inputs failed"):
        ensure_engine(store, req, build, retry_failed=False)
    assert len(build.calls) == 1
    build.error = None
    assert ensure_engine(store, req, build, retry_failed=True).built  # edge compile tries again
    assert store.failure(req.model, req.digest) is None


def test_a_cancelled_build_is_not_a_failure(tmp_path: Path, store: EngineStore) -> None:
    req = request(tmp_path, store=store)
    with pytest.raises(BuildCancelled):
        ensure_engine(store, req, FakeBuilder(error=BuildCancelled("stop")), retry_failed=False)
    assert store.failure(req.model, req.digest) is None


def test_an_engine_tensorrt_refuses_is_moved_aside_and_rebuilt_once(tmp_path: Path, store: EngineStore) -> None:
    build = FakeBuilder()
    req = request(tmp_path, store=store)
    ensure_engine(store, req, build)
    loads: list[bytes] = []

    def load(data: bytes) -> str:
        loads.append(data)
        if len(loads) == 1:
            raise EngineLoadError("TensorRT cannot deserialize the engine: version tag", ["[E] version tag"])
        return "engine"

    engine, got = open_engine(store, req, build, load)
    assert engine == "engine" and got.built and len(build.calls) == 2
    reasons = list(store.model_dir("m").glob("*.reason.txt"))
    assert len(reasons) == 1 and "[E] version tag" in reasons[0].read_text()


def test_a_fresh_engine_that_does_not_load_is_not_rebuilt_in_a_loop(tmp_path: Path, store: EngineStore) -> None:
    build = FakeBuilder()

    def load(data: bytes) -> str:
        raise EngineLoadError("cannot deserialize")

    with pytest.raises(EngineLoadError):
        open_engine(store, request(tmp_path, store=store), build, load)
    assert len(build.calls) == 1


def test_two_concurrent_starts_build_once(tmp_path: Path, store: EngineStore) -> None:
    gate = threading.Event()
    build = FakeBuilder(gate=gate)
    req = request(tmp_path, store=store)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_engine(store, req, build).built)) for _ in range(2)
    ]
    for t in threads:
        t.start()
    assert build.started.wait(5)
    gate.set()
    for t in threads:
        t.join(5)
    assert sorted(results) == [False, True] and len(build.calls) == 1
