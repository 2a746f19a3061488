#!/usr/bin/env python3
"""Time the CUDA preprocessing kernel against the CPU path for one camera frame.

    python tools/bench_cuda_preprocess.py                      # 1280x720 -> 640x640 letterbox
    python tools/bench_cuda_preprocess.py --size 1920x1080 --net 320x320 --mode stretch

Prints milliseconds per frame for: the CPU path (edge.preprocess.preprocess: resize, pad,
normalize, HWC->CHW), the kernel alone (frame already on the device), and the kernel with the
uint8 upload from pinned memory (what the TensorRT path pays per frame). Uses pycuda when it
imports (as edge does), CuPy otherwise. Also prints the kernel's largest difference from the
CPU path, in 8-bit levels (must be <= 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.gpu.kernel import BLOCK, KERNEL_NAME, KERNEL_SOURCE, KernelParams, grid_for
from edge.preprocess import PreprocessConfig, ResizeMode, plan_geometry, preprocess


def _pair(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    for _ in range(5):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(out)


class CupyRunner:
    name = "CuPy (NVRTC)"

    def __init__(self, frame: np.ndarray, p: KernelParams) -> None:
        import cupy

        self.cp = cupy
        self.fn = cupy.RawKernel(KERNEL_SOURCE, KERNEL_NAME)
        self.p, self.args = p, p.scalars()
        self.pinned = cupy.cuda.alloc_pinned_memory(frame.nbytes)
        self.host = np.frombuffer(self.pinned, np.uint8, frame.nbytes)
        self.host[:] = frame.reshape(-1)
        self.src = cupy.empty(frame.nbytes, cupy.uint8)
        self.dst = cupy.empty((3, p.net_h, p.net_w), cupy.float32)
        self.stream = cupy.cuda.Stream(non_blocking=True)

    def kernel(self) -> None:
        with self.stream:
            self.fn(grid_for(self.p.net_w, self.p.net_h), BLOCK, (self.src, self.dst, *self.args))
        self.stream.synchronize()

    def upload_and_kernel(self) -> None:
        self.src.set(self.host, stream=self.stream)
        self.kernel()

    def result(self) -> Any:
        self.upload_and_kernel()
        return self.cp.asnumpy(self.dst)


class PycudaRunner:
    name = "pycuda (shipped PTX)"

    def __init__(self, frame: np.ndarray, p: KernelParams) -> None:
        import pycuda.autoinit  # noqa: F401 -- a context for this benchmark
        import pycuda.driver as cuda

        from edge.gpu.cuda_preprocess import load_kernel

        self.cuda = cuda
        self.module, self.fn = load_kernel(cuda)  # as the service loads it: no nvcc
        self.p, self.args = p, p.scalars()
        self.host = cuda.pagelocked_empty(frame.nbytes, np.uint8)
        self.host[:] = frame.reshape(-1)
        self.src = cuda.mem_alloc(frame.nbytes)
        self.dst = cuda.mem_alloc(3 * p.net_w * p.net_h * 4)
        self.stream = cuda.Stream()

    def kernel(self) -> None:
        grid = grid_for(self.p.net_w, self.p.net_h)
        self.fn(self.src, self.dst, *self.args, block=BLOCK, grid=grid, stream=self.stream)
        self.stream.synchronize()

    def upload_and_kernel(self) -> None:
        self.cuda.memcpy_htod_async(self.src, self.host, self.stream)
        self.kernel()

    def result(self) -> Any:
        self.upload_and_kernel()
        out = np.empty((3, self.p.net_h, self.p.net_w), np.float32)
        self.cuda.memcpy_dtoh(out, self.dst)
        return out


def make_runner(frame: np.ndarray, p: KernelParams) -> Any:
    errors = []
    for cls in (PycudaRunner, CupyRunner):
        try:
            return cls(frame, p)
        except Exception as exc:  # ImportError or no device
            errors.append(f"{cls.name}: {type(exc).__name__}: {exc}")
    raise SystemExit("no CUDA runner: " + "; ".join(errors))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="CUDA preprocessing kernel vs the CPU path, ms per frame")
    ap.add_argument("--size", type=_pair, default=(1280, 720), help="frame WxH (default 1280x720)")
    ap.add_argument("--net", type=_pair, default=(640, 640), help="network input WxH (default 640x640)")
    ap.add_argument("--mode", default="letterbox", choices=[m.value for m in ResizeMode])
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args(argv)
    cfg = PreprocessConfig(args.net[0], args.net[1], ResizeMode(args.mode))
    frame = np.random.default_rng(0).integers(0, 256, (args.size[1], args.size[0], 3), dtype=np.uint8)
    params = KernelParams.create(plan_geometry(args.size[0], args.size[1], cfg), cfg)
    runner = make_runner(frame, params)
    worst = float(np.abs(runner.result() - preprocess([frame], cfg)[0][0]).max() * cfg.scaling)
    cpu = median_ms(lambda: preprocess([frame], cfg), max(20, args.runs // 10))
    kernel = median_ms(runner.kernel, args.runs)
    full = median_ms(runner.upload_and_kernel, args.runs)
    print(f"frame {args.size[0]}x{args.size[1]} -> {args.mode} {args.net[0]}x{args.net[1]}, {runner.name}")
    print(f"CPU preprocess          {cpu:8.3f} ms/frame")
    print(f"CUDA kernel only        {kernel:8.3f} ms/frame   ({cpu / kernel:.1f}x)")
    print(f"CUDA upload + kernel    {full:8.3f} ms/frame   ({cpu / full:.1f}x)")
    print(f"max |CUDA - CPU|        {worst:8.3f} levels (must be <= 1)")
    return 0 if worst <= 1.0 + 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
