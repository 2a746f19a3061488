"""The TensorRT backend against the fake tensorrt/pycuda: I/O by name, buffers, batches, dtypes.

The fake engine's outputs are simple functions of its input, computed from what the backend
actually copied to the fake device, so wrong offsets, sizes or shapes show as wrong numbers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.engines.errors import EngineLoadError
from edge.engines.store import EngineStore
from edge.errors import EdgeError
from edge.preprocess import PreprocessConfig, ResizeMode, preprocess
from tests.engines.common import detect_model
from tests.engines.fake_trt import DataType, EngineSpec, TensorIOMode, World

IN, OUT = TensorIOMode.INPUT, TensorIOMode.OUTPUT
HW = 32


def _compute(x: np.ndarray) -> dict[str, np.ndarray]:
    means = x.reshape(len(x), 3, -1).mean(axis=2)  # (n, 3)
    return {
        "boxes": (means[:, :, None] * np.arange(1, 5)).astype(np.float16),  # (n, 3, 4), fp16 like an fp16 engine
        "classes": x.argmax(axis=1).astype(np.int32),  # (n, H, W) class map
    }


def _reference(x: np.ndarray) -> list[np.ndarray]:
    out = _compute(x)
    return [out["boxes"].astype(np.float32), out["classes"].astype(np.int64)]


def _spec(batch: int | None) -> EngineSpec:
    """An engine with a dynamic batch 1..4 (batch=None) or a fixed one."""
    n = -1 if batch is None else batch
    tensors = [
        ("images", IN, DataType.FLOAT, (n, 3, HW, HW)),
        ("boxes", OUT, DataType.HALF, (n, 3, 4)),
        ("classes", OUT, DataType.INT32, (n, HW, HW)),
    ]
    profile = None if batch is not None else ((1, 3, HW, HW), (2, 3, HW, HW), (4, 3, HW, HW))
    return EngineSpec(tensors, profile, _compute)


def _open(world: World, tmp_path: Path, batch: int | None = None) -> Any:
    from edge.backends.tensorrt import TensorRTBackend

    world.engines[b"dyn" if batch is None else b"fixed"] = _spec(batch)
    path = tmp_path / "x.engine"
    path.write_bytes(b"dyn" if batch is None else b"fixed")
    return TensorRTBackend(tmp_path / "unused.onnx", engine=path)


def _batch(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 3, HW, HW), dtype=np.float32)


def test_tensors_are_found_by_name_with_decoder_dtypes(fake_gpu: World, tmp_path: Path) -> None:
    be = _open(fake_gpu, tmp_path)
    assert [(t.name, t.shape, t.dtype) for t in be.inputs] == [("images", ("batch", 3, HW, HW), "float32")]
    assert [(t.name, t.shape, t.dtype) for t in be.outputs] == [
        ("boxes", ("batch", 3, 4), "float32"),
        ("classes", ("batch", HW, HW), "int64"),
    ]
    assert be.max_batch == 4


@pytest.mark.parametrize("n", [1, 3, 4, 6, 9])
def test_dynamic_batches_run_in_chunks_of_the_profile_max(fake_gpu: World, tmp_path: Path, n: int) -> None:
    be = _open(fake_gpu, tmp_path)
    x = _batch(n)
    out = be.infer(x)
    for got, want in zip(out, _reference(x)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_a_fixed_batch_engine_pads_a_short_batch(fake_gpu: World, tmp_path: Path) -> None:
    be = _open(fake_gpu, tmp_path, batch=2)
    for n in (1, 2, 3):
        x = _batch(n, seed=n)
        boxes, classes = be.infer(x)
        assert boxes.shape == (n, 3, 4) and classes.shape == (n, HW, HW)
        np.testing.assert_array_equal(boxes, _reference(x)[0])


def test_outputs_do_not_alias_the_reused_buffers(fake_gpu: World, tmp_path: Path) -> None:
    be = _open(fake_gpu, tmp_path)
    first = be.infer(_batch(1, seed=1))[0]
    kept = first.copy()
    be.infer(_batch(1, seed=2))
    np.testing.assert_array_equal(first, kept)


def test_a_wrong_input_shape_is_one_line(fake_gpu: World, tmp_path: Path) -> None:
    be = _open(fake_gpu, tmp_path)
    with pytest.raises(EdgeError, match=r"expected a batch of shape \(N, 3, 32, 32\), got \(1, 3, 16, 16\)"):
        be.infer(np.zeros((1, 3, 16, 16), np.float32))


def test_an_engine_tensorrt_refuses_carries_its_log_lines(fake_gpu: World, tmp_path: Path) -> None:
    from edge.backends.tensorrt import TensorRTBackend

    bad = tmp_path / "bad.engine"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(EngineLoadError, match="magicTagRead == kMAGIC_TAG failed") as err:
        TensorRTBackend(tmp_path / "m.onnx", engine=bad)
    assert "\n" not in str(err.value)
    assert err.value.details and err.value.details[0].startswith("[E] 1: [stdArchiveReader.cpp")
    assert fake_gpu.contexts_retained == 1 and fake_gpu.contexts_released == 0


def test_close_frees_every_buffer_and_keeps_the_one_primary_context(fake_gpu: World, tmp_path: Path) -> None:
    be = _open(fake_gpu, tmp_path)
    assert len(fake_gpu.memory) == 3
    be.close()
    be.close()  # twice is harmless
    assert fake_gpu.memory == {} and fake_gpu.contexts_released == 0
    assert fake_gpu.streams_destroyed == [1] and fake_gpu.context_depth == 0  # the stream went while current
    again = _open(fake_gpu, tmp_path)  # (a daemon reloading its models, from another thread)
    again.close()
    assert fake_gpu.contexts_retained == 1, "one retained primary context per process, not one per backend"
    with pytest.raises(EdgeError, match="closed"):
        be.infer(_batch(1))


@pytest.fixture
def cpu_kernel_in_fake_gpu(fake_gpu: World, tmp_path_factory: pytest.TempPathFactory) -> World:
    from tests.gpu import cpu_kernel

    if cpu_kernel.compiler() is None:
        pytest.skip("no C++ compiler to run the preprocessing kernel on the CPU")
    fake_gpu.kernel = cpu_kernel.build(tmp_path_factory.mktemp("kernel"))
    return fake_gpu


@pytest.mark.parametrize("n", [1, 5])
def test_gpu_preprocessing_feeds_the_engine_what_the_cpu_path_would(
    cpu_kernel_in_fake_gpu: World, tmp_path: Path, n: int
) -> None:
    be = _open(cpu_kernel_in_fake_gpu, tmp_path)
    cfg = PreprocessConfig(HW, HW, ResizeMode.LETTERBOX)
    rng = np.random.default_rng(n)
    frames = [rng.integers(0, 256, (40 + 7 * i, 50 + 3 * i, 3), dtype=np.uint8) for i in range(n)]
    outputs, geoms = be.infer_images(frames, cfg)
    batch, cpu_geoms = preprocess(frames, cfg)
    assert geoms == cpu_geoms
    for got, want in zip(outputs, be.infer(batch)):
        np.testing.assert_array_equal(got, want)


def test_a_cached_engine_tensorrt_refuses_is_moved_aside_and_rebuilt(fake_gpu: World, tmp_path: Path) -> None:
    from edge.backends.tensorrt import TensorRTBackend

    onnx = detect_model(tmp_path, name="det")
    fake_gpu.engine_bytes = b"engine-v1"
    fake_gpu.engines[b"engine-v1"] = _spec(None)
    engines = tmp_path / "engines"
    TensorRTBackend(onnx, engine_dir=engines).close()
    TensorRTBackend(onnx, engine_dir=engines).close()
    assert fake_gpu.builds == 1  # the second start built nothing

    # The same bytes now fail to deserialize (say, a TensorRT update kept the version string).
    del fake_gpu.engines[b"engine-v1"]
    fake_gpu.engine_bytes = b"engine-v2"
    fake_gpu.engines[b"engine-v2"] = _spec(None)
    be = TensorRTBackend(onnx, engine_dir=engines)
    assert fake_gpu.builds == 2 and be.engine_path is not None and be.engine_path.read_bytes() == b"engine-v2"
    aside = [p.name for p in (engines / "det").iterdir() if ".corrupt-" in p.name]
    assert any(n.endswith(".reason.txt") for n in aside) and any(".engine.corrupt-" in n for n in aside)
    reason = next((engines / "det").glob("*.reason.txt")).read_text()
    assert "magicTagRead" in reason
    assert EngineStore(engines).failure("det", be.engine_path.stem) is None
    be.close()


def _frames(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (40 + 7 * i, 50 + 3 * i, 3), dtype=np.uint8) for i in range(n)]


@pytest.mark.parametrize(("capability", "target"), [((8, 7), b".target sm_87"), ((7, 5), b".target sm_50")])
def test_gpu_preprocessing_loads_the_shipped_ptx_without_a_compiler_or_a_home(
    cpu_kernel_in_fake_gpu: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capability: tuple[int, int],
    target: bytes,
) -> None:
    world = cpu_kernel_in_fake_gpu
    world.capability = capability
    monkeypatch.setenv("PATH", str(tmp_path / "no-nvcc-here"))  # the systemd unit's PATH has no nvcc
    monkeypatch.setenv("HOME", "/nonexistent")  # ProtectHome=yes: no cache directory
    be = _open(world, tmp_path)
    cfg = PreprocessConfig(HW, HW, ResizeMode.LETTERBOX)
    for seed in (1, 2):
        frames = _frames(2, seed)
        outputs, _ = be.infer_images(frames, cfg)
        for got, want in zip(outputs, be.infer(preprocess(frames, cfg)[0])):
            np.testing.assert_array_equal(got, want)
    assert world.compiles == 0 and world.kernel_loads == 1
    assert target in world.loaded_ptx[0] and world.loaded_ptx[0].endswith(b"\0")


def _no_ptx_files(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from edge.gpu import ptx

    monkeypatch.setattr(ptx, "PTX_DIR", tmp_path / "missing")


def _driver_refuses(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    world.kernel_load_error = "cuModuleLoadDataEx failed: the provided PTX was compiled with an unsupported toolchain."


def _stale_ptx(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from edge.gpu import ptx

    monkeypatch.setattr(ptx, "PTX_DIR", tmp_path)
    for v in ptx.VARIANTS:
        v.path.write_text("// edge-ptx: source_sha256 " + "0" * 64 + "\n", encoding="ascii")


@pytest.mark.parametrize(
    ("breakage", "said"),
    [
        (_no_ptx_files, "cannot read the shipped kernel"),
        (_driver_refuses, "unsupported toolchain"),
        (_stale_ptx, "is stale"),
    ],
    ids=["missing", "refused", "stale"],
)
def test_a_kernel_that_cannot_load_falls_back_to_cpu_preprocessing_once(
    fake_gpu: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    breakage: Any,
    said: str,
) -> None:
    breakage(fake_gpu, monkeypatch, tmp_path)
    be = _open(fake_gpu, tmp_path)
    cfg = PreprocessConfig(HW, HW, ResizeMode.LETTERBOX)
    with caplog.at_level(logging.WARNING, logger="edge.tensorrt"):
        for seed in (1, 2, 3):  # the model keeps serving, batch after batch
            frames = _frames(3, seed)
            outputs, geoms = be.infer_images(frames, cfg)
            batch, cpu_geoms = preprocess(frames, cfg)
            assert geoms == cpu_geoms
            for got, want in zip(outputs, be.infer(batch)):
                np.testing.assert_array_equal(got, want)
        be.infer_images(_frames(1, 4), PreprocessConfig(HW, HW, ResizeMode.STRETCH))  # another config: no retry
    (record,) = caplog.records
    assert "preprocessing on the CPU" in record.getMessage() and said in record.getMessage()
    assert fake_gpu.kernel_loads <= 1 and fake_gpu.compiles == 0
    be.close()


def test_an_attribute_error_while_importing_a_backend_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What any TensorRT without an API a backend module subclasses at import would do.
    import sys

    from edge import backends
    from edge.errors import BackendUnavailable

    (tmp_path / "edge_old_runtime_backend.py").write_text(
        """raise AttributeError("module 'tensorrt' has no attribute 'IProgressMonitor'")\n"""
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edge_old_runtime_backend", raising=False)
    monkeypatch.setitem(backends._REGISTRY, "old", ("edge_old_runtime_backend", "Backend", "tensorrt"))
    with pytest.raises(BackendUnavailable) as err:
        backends.create_backend("old", tmp_path / "m.onnx")
    assert str(err.value) == (
        "backend 'old' does not work with the installed runtime (module 'tensorrt' has no attribute"
        " 'IProgressMonitor'); install the version 'edge[tensorrt]' names"
    )
