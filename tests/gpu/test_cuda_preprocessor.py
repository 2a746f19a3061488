"""edge's own pycuda path, as the TensorRT backend drives it: the device's primary context made
current on a worker thread, pinned staging, asynchronous copies and one kernel per frame of a
batch, written at each frame's offset of one device NCHW buffer. Needs pycuda and a GPU."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from edge.preprocess import PreprocessConfig, ResizeMode, preprocess


@pytest.fixture(scope="module")
def cuda() -> Any:
    try:
        import pycuda.driver as drv

        drv.init()
        if drv.Device.count() < 1:
            raise RuntimeError("no CUDA device")
    except Exception as exc:  # ImportError, or pycuda without a driver or device
        pytest.skip(f"pycuda with a CUDA device needed: {type(exc).__name__}: {exc}")
    return drv


def _frames(sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for w, h in sizes]


@pytest.mark.cuda
@pytest.mark.parametrize(
    "cfg",
    [
        PreprocessConfig(320, 256, ResizeMode.LETTERBOX),
        PreprocessConfig(224, 224, ResizeMode.STRETCH, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    ],
    ids=["letterbox", "stretch-meanstd"],
)
def test_batch_preprocessed_on_the_gpu_matches_the_cpu_from_a_worker_thread(cuda: Any, cfg: PreprocessConfig) -> None:
    from edge.gpu.context import primary_context
    from edge.gpu.cuda_preprocess import CudaPreprocessor

    # Frames of different sizes in one batch, then a second, smaller batch reusing the slots.
    batches = [_frames([(1280, 720), (641, 479), (333, 517)]), _frames([(640, 480)])]
    ctx = primary_context(0)
    results: list[Any] = []

    def work() -> None:  # a daemon's infer thread is not the thread that made the context
        with ctx.active():
            pre = CudaPreprocessor(cfg)
            stream = cuda.Stream()
            plane = 3 * cfg.height * cfg.width
            dst = cuda.mem_alloc(4 * plane * 3)
            try:
                for frames in batches:
                    cuda.memset_d32(dst, 0x7FC00000, plane * 3)  # NaN: unwritten output shows
                    geoms = pre.run(frames, int(dst), stream)
                    stream.synchronize()
                    out = np.empty((len(frames), 3, cfg.height, cfg.width), np.float32)
                    cuda.memcpy_dtoh(out, dst)
                    results.append((frames, out, geoms))
            finally:
                pre.close()
                dst.free()
                del stream  # while the context is current: pycuda cannot clean up after it

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    assert len(results) == 2
    for frames, out, geoms in results:
        ref, ref_geoms = preprocess(frames, cfg)
        assert geoms == ref_geoms
        level = 1.0 / cfg.scaling / (min(cfg.std) if cfg.std else 1.0)
        assert not np.isnan(out).any()
        assert np.abs(out - ref).max() <= level + 1e-5
