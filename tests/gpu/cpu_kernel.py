"""The preprocessing kernel compiled for the CPU, one loop iteration per CUDA thread.

This runs the very source string the GPU compiles (edge.gpu.kernel.KERNEL_SOURCE) with a
host C++ compiler, so its arithmetic is checked against OpenCV on machines with no GPU.
What it cannot check (launch configuration, device memory) the CUDA test covers.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.gpu.kernel import BLOCK, KERNEL_NAME, KERNEL_SOURCE, PARAMS, KernelParams, grid_for

_PRELUDE = """
#include <math.h>
#define __global__
#define __device__
#define __forceinline__ inline
struct edge_dim3 { unsigned int x, y, z; };
static edge_dim3 threadIdx, blockIdx, blockDim;
"""


def _driver() -> str:
    names = ", ".join(name for _, name in PARAMS)
    return f"""
extern "C" void edge_cpu_launch(unsigned int gx, unsigned int gy, {", ".join(f"{t} {n}" for t, n in PARAMS)}) {{
    blockDim.x = {BLOCK[0]}; blockDim.y = {BLOCK[1]}; blockDim.z = 1;
    for (unsigned int by = 0; by < gy; ++by) for (unsigned int bx = 0; bx < gx; ++bx)
    for (unsigned int ty = 0; ty < blockDim.y; ++ty) for (unsigned int tx = 0; tx < blockDim.x; ++tx) {{
        blockIdx.x = bx; blockIdx.y = by; threadIdx.x = tx; threadIdx.y = ty;
        {KERNEL_NAME}({names});
    }}
}}
"""


def compiler() -> str | None:
    return shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def build(workdir: Path) -> ctypes.CDLL:
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler")
    src = workdir / "kernel_cpu.cpp"
    lib = workdir / "kernel_cpu.so"
    src.write_text(_PRELUDE + KERNEL_SOURCE + _driver())
    # -ffp-contract=off: plain IEEE multiply-then-add, like the numpy reference path.
    subprocess.run([cxx, "-O2", "-ffp-contract=off", "-shared", "-fPIC", str(src), "-o", str(lib)], check=True)
    dll = ctypes.CDLL(str(lib))
    fn = dll.edge_cpu_launch
    kinds = {"int": ctypes.c_int, "float": ctypes.c_float, "double": ctypes.c_double}
    fn.argtypes = [ctypes.c_uint, ctypes.c_uint] + [kinds.get(t, ctypes.c_void_p) for t, _ in PARAMS]
    fn.restype = None
    return dll


def run(dll: ctypes.CDLL, image: npt.NDArray[np.uint8], params: KernelParams) -> npt.NDArray[np.float32]:
    src = np.ascontiguousarray(image)
    out = np.full((3, params.net_h, params.net_w), np.nan, dtype=np.float32)
    gx, gy, _ = grid_for(params.net_w, params.net_h)
    scalars = [s.item() for s in params.scalars()]
    dll.edge_cpu_launch(gx, gy, src.ctypes.data, out.ctypes.data, *scalars)
    return out
