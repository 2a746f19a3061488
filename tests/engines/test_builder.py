"""The TensorRT build layer, run against the fake tensorrt/pycuda (tests/engines/fake_trt.py)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest

from edge.engines.compile import ensure_engine
from edge.engines.errors import BuildCancelled, BuildError
from edge.engines.progress import ProgressTracker
from edge.engines.store import EngineStore
from tests.engines.common import image_folder, request
from tests.engines.fake_trt import BuilderFlag, DeviceType, MemoryPoolType, ParserError, World


def _build(req, tracker=None):  # type: ignore[no-untyped-def]
    from edge.engines.builder import build_engine

    return build_engine(req, tracker or ProgressTracker())


def test_parser_errors_are_logged_with_their_node_and_fail_the_build(
    fake_gpu: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_gpu.parse_errors = [
        ParserError(12, "Resize", "/model.10/Resize", "unsupported coordinate_transformation_mode"),
        ParserError(40, "NonZero", "", "no importer registered"),
    ]
    with caplog.at_level(logging.ERROR), pytest.raises(BuildError) as err:
        _build(request(tmp_path))
    msg = str(err.value)
    assert "node 12 (Resize '/model.10/Resize')" in msg and "(and 1 more)" in msg and "\n" not in msg
    logged = [r.getMessage() for r in caplog.records]
    assert any("node 12 (Resize" in m for m in logged) and any("node 40 (NonZero)" in m for m in logged)
    assert err.value.details[1].startswith("node 40 (NonZero): UNSUPPORTED_NODE")
    assert fake_gpu.builds == 0


def test_fp16_build_with_workspace_and_a_dynamic_batch_profile(fake_gpu: World, tmp_path: Path) -> None:
    from edge.engines.options import BatchProfile

    data = _build(request(tmp_path, workspace_mib=512, batch=BatchProfile(1, 4, 8)))
    assert data == fake_gpu.engine_bytes
    (config,) = fake_gpu.configs
    assert config.flags == {BuilderFlag.FP16}
    assert config.pools == {MemoryPoolType.WORKSPACE: 512 << 20}
    assert config.default_device_type is DeviceType.GPU
    (profile,) = config.profiles
    assert profile.shapes == {"images": ((1, 3, 64, 64), (4, 3, 64, 64), (8, 3, 64, 64))}


def test_fp32_build_of_a_fixed_batch_model_sets_no_flag_and_no_profile(fake_gpu: World, tmp_path: Path) -> None:
    from tests.engines.common import detect_model

    _build(request(tmp_path, model=detect_model(tmp_path, batch=1), precision=_p("fp32")))
    (config,) = fake_gpu.configs
    assert config.flags == set() and config.profiles == [] and config.pools == {}


def _p(name: str):  # type: ignore[no-untyped-def]
    from edge.engines.options import Precision

    return Precision(name)


def test_dla_core_with_gpu_fallback(fake_gpu: World, tmp_path: Path) -> None:
    _build(request(tmp_path, dla_core=1))
    (config,) = fake_gpu.configs
    assert config.default_device_type is DeviceType.DLA and config.DLA_core == 1
    assert config.flags == {BuilderFlag.FP16, BuilderFlag.GPU_FALLBACK}


@pytest.mark.parametrize(("cores", "expected"), [(0, "this device has no DLA"), (1, "DLA cores 0..0")])
def test_a_dla_core_the_device_lacks_is_refused(fake_gpu: World, tmp_path: Path, cores: int, expected: str) -> None:
    fake_gpu.dla_cores = cores
    with pytest.raises(BuildError, match=expected):
        _build(request(tmp_path, dla_core=1))


def test_a_failed_build_reports_tensorrts_reason(fake_gpu: World, tmp_path: Path) -> None:
    oom = "2: [virtualMemoryBuffer.cpp::resizePhysical::140] Error Code 2: OutOfMemory (no further information)"
    fake_gpu.build_error = oom
    with pytest.raises(BuildError, match="OutOfMemory") as err:
        _build(request(tmp_path))
    assert err.value.details == (f"[E] {oom}",)


def test_the_timing_cache_is_saved_and_reused(fake_gpu: World, tmp_path: Path) -> None:
    req = request(tmp_path)
    _build(req)
    saved = req.timing_cache.read_bytes()
    _build(request(tmp_path, workspace_mib=64))  # another engine, same device: same timing cache
    assert fake_gpu.timing_loaded == [b"", saved]


@pytest.mark.parametrize(
    ("breakage", "said"),
    [
        ({"timing_accept": False}, "does not fit this TensorRT/GPU"),
        # create_timing_cache returns None; set_timing_cache(None) would raise in the binding
        ({"timing_unusable": True}, "is unreadable"),
    ],
    ids=["mismatch", "damaged"],
)
def test_a_timing_cache_that_cannot_be_used_is_moved_aside_and_replaced(
    fake_gpu: World, tmp_path: Path, caplog: pytest.LogCaptureFixture, breakage: dict[str, bool], said: str
) -> None:
    req = request(tmp_path)
    req.timing_cache.parent.mkdir(parents=True)
    req.timing_cache.write_bytes(b"from another TensorRT")
    for k, v in breakage.items():
        setattr(fake_gpu, k, v)
    with caplog.at_level(logging.WARNING, logger="edge.engines"):
        assert _build(req) == fake_gpu.engine_bytes
    assert fake_gpu.timing_loaded == [b"from another TensorRT", b""]
    assert req.timing_cache.read_bytes() == b"timing:0"
    (aside,) = req.timing_cache.parent.glob("*.corrupt-*")
    assert aside.read_bytes() == b"from another TensorRT"
    (record,) = caplog.records
    assert said in record.getMessage() and "moved aside" in record.getMessage()


def test_progress_reaches_the_tracker_and_cancelling_stops_the_build(fake_gpu: World, tmp_path: Path) -> None:
    fake_gpu.phases = [("Building engine", None, 2), ("Tactic timing", "Building engine", 4)]
    seen: list[str] = []
    tracker = ProgressTracker(lambda s: seen.append(s.text))
    _build(request(tmp_path), tracker)
    assert "Building engine (1/2)" in seen and "Tactic timing (4/4)" in seen

    stopper = ProgressTracker()
    stopper.cancel()
    with pytest.raises(BuildCancelled):
        _build(request(tmp_path), stopper)


def test_int8_calibrates_from_the_folder_once_then_reuses_the_calibration_cache(
    fake_gpu: World, tmp_path: Path
) -> None:
    from edge.engines.options import BatchProfile

    images = image_folder(tmp_path / "calib", 5)
    req = request(tmp_path, precision=_p("int8"), calibration_dir=images, batch=BatchProfile(1, 2, 4))
    _build(req)
    (config,) = fake_gpu.configs
    assert config.flags == {BuilderFlag.FP16, BuilderFlag.INT8}
    assert config.calibration_profile.shapes == {"images": ((2, 3, 64, 64),) * 3}
    # Five images in batches of the profile's opt size (2): two full batches, the rest dropped.
    assert len(fake_gpu.calibration_batches) == 2
    assert all(b.size == 2 * 3 * 64 * 64 and np.isfinite(b).all() for b in fake_gpu.calibration_batches)
    assert req.calibration_cache is not None and req.calibration_cache.read_bytes() == b"calibration-table"
    assert fake_gpu.freed == 1  # the calibrator's device buffer
    assert fake_gpu.contexts_retained == 1 and fake_gpu.contexts_released == 0  # kept for the process

    _build(req)  # the same data: the saved table is read, no batch is fed again
    assert len(fake_gpu.calibration_batches) == 2


def test_the_calibrator_deprecation_is_logged_once_and_not_left_hidden(
    fake_gpu: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from edge.engines.options import BatchProfile

    images = image_folder(tmp_path / "calib", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DeprecationWarning escaping the builder fails the test
        with caplog.at_level(logging.WARNING, logger="edge.engines"):
            for opt in (1, 2):  # two builds (two engines), one line
                _build(request(tmp_path, precision=_p("int8"), calibration_dir=images, batch=BatchProfile(1, opt, 4)))
    said = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(said) == 1 and "TensorRT 10.3.0" in said[0] and "TensorRT 11" in said[0] and "Q/DQ" in said[0]
    assert fake_gpu.builds == 2


def test_a_failed_build_is_remembered_and_not_retried_until_its_inputs_change(fake_gpu: World, tmp_path: Path) -> None:
    from edge.engines.builder import build_engine

    store = EngineStore(tmp_path / "engines")
    fake_gpu.build_error = "Error Code 2: OutOfMemory"
    with pytest.raises(BuildError):
        ensure_engine(store, request(tmp_path, store=store), build_engine, retry_failed=False)
    with pytest.raises(BuildError, match=r"the last build with these inputs failed .*OutOfMemory"):
        ensure_engine(store, request(tmp_path, store=store), build_engine, retry_failed=False)
    assert fake_gpu.builds == 1
    fake_gpu.build_error = None
    got = ensure_engine(store, request(tmp_path, store=store, workspace_mib=256), build_engine, retry_failed=False)
    assert got.built and fake_gpu.builds == 2
