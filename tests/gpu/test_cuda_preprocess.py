"""The CUDA preprocessing kernel against the CPU path (edge.preprocess.preprocess).

Three levels, so each machine checks what it can:
- on any machine with a C++ compiler, the kernel source compiled for the CPU;
- where nvcc is installed, that the source compiles for the GPU;
- on a CUDA device (pycuda loading the shipped PTX, or CuPy compiling the source where
  pycuda is missing), the kernel itself.
Agreement is one 8-bit level: max |gpu - cpu| <= 1/255 in units of the normalized input.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from edge.gpu.kernel import BLOCK, KERNEL_NAME, KERNEL_SOURCE, KernelParams, grid_for
from edge.preprocess import PreprocessConfig, ResizeMode, plan_geometry, preprocess
from tests.gpu import cpu_kernel

IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}

# (resize mode, (src_w, src_h), config extras): odd sizes, up- and downscaling, both aspects.
CASES = [
    (ResizeMode.LETTERBOX, (1280, 720), {}),
    (ResizeMode.LETTERBOX, (641, 479), {}),
    (ResizeMode.LETTERBOX, (333, 517), {"pad_value": 0}),
    (ResizeMode.LETTERBOX, (64, 48), {}),
    (ResizeMode.LETTERBOX, (640, 640), {}),
    (ResizeMode.LETTERBOX, (1, 1), {}),
    (ResizeMode.STRETCH, (1280, 720), {}),
    (ResizeMode.STRETCH, (97, 203), {"rgb": False}),
    (ResizeMode.STRETCH, (300, 300), IMAGENET),
    (ResizeMode.CENTER_CROP, (701, 333), {}),
    (ResizeMode.CENTER_CROP, (100, 900), {"scaling": 1.0}),
    (ResizeMode.FILL_CROP, (1281, 719), IMAGENET),
    (ResizeMode.FILL_CROP, (211, 389), {}),
]
NET = (320, 256)  # width, height: not square, so x and y mix-ups show


def _case_id(case: tuple[ResizeMode, tuple[int, int], dict[str, Any]]) -> str:
    mode, (w, h), extra = case
    return f"{mode.value}-{w}x{h}" + ("-" + "-".join(sorted(extra)) if extra else "")


def _image(w: int, h: int, seed: int) -> npt.NDArray[np.uint8]:
    """Noise plus a gradient: noise exposes any sampling offset, the gradient any scale error."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    return np.where(rng.random((h, w, 1)) < 0.5, noise, ramp.astype(np.uint8)).astype(np.uint8)


def _config(mode: ResizeMode, extra: dict[str, Any]) -> PreprocessConfig:
    return PreprocessConfig(width=NET[0], height=NET[1], resize_mode=mode, **extra)


def _check(out: npt.NDArray[np.float32], image: npt.NDArray[np.uint8], cfg: PreprocessConfig) -> float:
    """Assert agreement within one 8-bit level; return the fraction of values a level apart."""
    ref = preprocess([image], cfg)[0][0]
    assert not np.isnan(out).any(), "the kernel left output elements unwritten"
    # One 8-bit level in the units of the network input: 1/scaling, divided by std if any
    # (1/255 for the usual scaling of 255 without mean/std). Noise in the image turns any
    # sampling or geometry mistake into differences of many levels.
    level = np.full((3, 1, 1), 1.0 / cfg.scaling, dtype=np.float64)
    if cfg.std is not None:
        level /= np.asarray(cfg.std).reshape(3, 1, 1)
    diff_levels = np.abs(out.astype(np.float64) - ref) / level
    off = float((diff_levels > 0.5).mean())
    assert diff_levels.max() <= 1.0 + 1e-4, f"max difference {diff_levels.max():.3f} levels ({off:.2%} differ)"
    return off


@pytest.fixture(scope="module")
def cpu_dll(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if cpu_kernel.compiler() is None:
        pytest.skip("no C++ compiler (g++, c++ or clang++) to build the kernel for the CPU")
    return cpu_kernel.build(tmp_path_factory.mktemp("kernel"))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_kernel_source_on_cpu_matches_opencv_path(cpu_dll: Any, case: tuple[Any, ...]) -> None:
    mode, (w, h), extra = case
    cfg = _config(mode, extra)
    image = _image(w, h, seed=w * 7 + h)
    params = KernelParams.create(plan_geometry(w, h, cfg), cfg)
    off = _check(cpu_kernel.run(cpu_dll, image, params), image, cfg)
    if platform.machine() in ("x86_64", "AMD64"):
        # The kernel reproduces the fixed-point arithmetic of OpenCV's SIMD resize, so against
        # the x86 build it is exact; other builds (ARM's Carotene HAL) may round differently.
        assert off == 0.0


def _padded_rows(image: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """The frame inside rows padded to ``width`` pixels, as cameras often deliver them."""
    padded = np.zeros((image.shape[0], width, 3), dtype=np.uint8)
    padded[:, : image.shape[1]] = image
    return padded


def test_kernel_source_on_cpu_reads_a_padded_row_stride(cpu_dll: Any) -> None:
    cfg = _config(ResizeMode.LETTERBOX, {})
    image = _image(333, 211, seed=5)
    params = KernelParams.create(plan_geometry(333, 211, cfg), cfg, src_stride=336 * 3)
    _check(cpu_kernel.run(cpu_dll, _padded_rows(image, 336), params), image, cfg)


def test_kernel_compiles_for_the_gpu(tmp_path: Path) -> None:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not installed: cannot check that the kernel compiles for CUDA")
    src = tmp_path / "k.cu"
    src.write_text(KERNEL_SOURCE)
    subprocess.run([nvcc, "--ptx", str(src), "-o", str(tmp_path / "k.ptx")], check=True, capture_output=True)
    assert f".entry {KERNEL_NAME}" in (tmp_path / "k.ptx").read_text()


def test_grid_covers_the_output() -> None:
    gx, gy, _ = grid_for(641, 17)
    assert gx * BLOCK[0] >= 641 > (gx - 1) * BLOCK[0]
    assert gy * BLOCK[1] >= 17 > (gy - 1) * BLOCK[1]


class _CupyRunner:
    """Runs the kernel through CuPy's NVRTC, for GPU machines without pycuda."""

    def __init__(self) -> None:
        import cupy

        self.cp = cupy
        self.fn = cupy.RawKernel(KERNEL_SOURCE, KERNEL_NAME)

    def __call__(self, image: npt.NDArray[np.uint8], p: KernelParams) -> npt.NDArray[np.float32]:
        src = self.cp.asarray(np.ascontiguousarray(image))
        dst = self.cp.full((3, p.net_h, p.net_w), np.nan, dtype=self.cp.float32)
        self.fn(grid_for(p.net_w, p.net_h), BLOCK, (src, dst, *p.scalars()))
        out: npt.NDArray[np.float32] = self.cp.asnumpy(dst)
        return out


class _PycudaRunner:
    """Runs the kernel the way edge does on a Jetson: pycuda, the shipped PTX, no compiler."""

    def __init__(self) -> None:
        import pycuda.autoinit  # noqa: F401 -- creates the context this test runs in
        import pycuda.driver as cuda

        from edge.gpu.cuda_preprocess import load_kernel

        self.cuda = cuda
        self.module, self.fn = load_kernel(cuda)

    def __call__(self, image: npt.NDArray[np.uint8], p: KernelParams) -> npt.NDArray[np.float32]:
        out = np.full((3, p.net_h, p.net_w), np.nan, dtype=np.float32)
        dst = self.cuda.to_device(out)
        src = self.cuda.to_device(np.ascontiguousarray(image))
        self.fn(src, dst, *p.scalars(), block=BLOCK, grid=grid_for(p.net_w, p.net_h))
        self.cuda.memcpy_dtoh(out, dst)
        return out


@pytest.fixture(scope="module")
def gpu_runner() -> Any:
    reasons = []
    try:
        return _PycudaRunner()
    except Exception as exc:  # ImportError, or pycuda without a device
        reasons.append(f"pycuda: {type(exc).__name__}: {exc}")
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no device")
        return _CupyRunner()
    except Exception as exc:
        reasons.append(f"cupy: {type(exc).__name__}: {exc}")
    pytest.skip("no CUDA device: " + "; ".join(reasons))


@pytest.mark.cuda
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_cuda_kernel_matches_cpu_preprocessing(gpu_runner: Any, case: tuple[Any, ...]) -> None:
    mode, (w, h), extra = case
    cfg = _config(mode, extra)
    image = _image(w, h, seed=w * 7 + h)
    _check(gpu_runner(image, KernelParams.create(plan_geometry(w, h, cfg), cfg)), image, cfg)


@pytest.mark.cuda
def test_cuda_kernel_reads_a_padded_row_stride(gpu_runner: Any) -> None:
    cfg = _config(ResizeMode.LETTERBOX, {})
    image = _image(333, 211, seed=5)
    params = KernelParams.create(plan_geometry(333, 211, cfg), cfg, src_stride=336 * 3)
    _check(gpu_runner(_padded_rows(image, 336), params), image, cfg)
