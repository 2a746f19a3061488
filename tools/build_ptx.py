"""Regenerate the shipped PTX of the preprocessing kernel (edge/gpu/ptx/*.ptx) with NVRTC 12.2.

The PTX must declare ISA 8.2 so that JetPack 6's driver (CUDA 12.2 in 6.0, 12.6 in 6.1/6.2)
can load it; PTX from a newer toolchain (this machine's nvcc 13.0 writes ISA 9.0) cannot be.
NVRTC 12.2 comes from PyPI without a CUDA install or a host compiler:

    .venv/bin/pip install --no-deps --target /tmp/nvrtc 'nvidia-cuda-nvrtc-cu12==12.2.140'
    .venv/bin/python tools/build_ptx.py --nvrtc /tmp/nvrtc/nvidia/cuda_nvrtc/lib/libnvrtc.so.12

``--check`` compiles and compares with the shipped files instead of writing them.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.gpu.kernel import KERNEL_NAME, KERNEL_SOURCE
from edge.gpu.ptx import NVRTC_OPTIONS, PTX_ISA, VARIANTS, PtxVariant, directive, header, source_sha256

WANT_NVRTC = (12, 2)


def _find_nvrtc(given: str | None) -> Path:
    if given:
        return Path(given)
    try:
        import nvidia.cuda_nvrtc as pkg  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("build_ptx: give --nvrtc PATH, or pip install 'nvidia-cuda-nvrtc-cu12==12.2.140' here")
    return Path(next(iter(pkg.__path__))) / "lib" / "libnvrtc.so.12"


class Nvrtc:
    def __init__(self, path: Path) -> None:
        self.lib: Any = ctypes.CDLL(str(path))
        major, minor = ctypes.c_int(), ctypes.c_int()
        self._check(self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion")
        self.version = (major.value, minor.value)

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p
            raise RuntimeError(f"{what}: {self.lib.nvrtcGetErrorString(rc).decode()}")

    def ptx(self, source: str, options: list[str]) -> str:
        prog = ctypes.c_void_p()
        name = f"{KERNEL_NAME}.cu".encode()  # fixed: NVRTC derives internal symbol names from it
        self._check(self.lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), name, 0, None, None), "create")
        try:
            opts = (ctypes.c_char_p * len(options))(*(o.encode() for o in options))
            rc = self.lib.nvrtcCompileProgram(prog, len(options), opts)
            size = ctypes.c_size_t()
            self.lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            self.lib.nvrtcGetProgramLog(prog, log)
            if rc != 0:
                raise RuntimeError(f"NVRTC failed:\n{log.value.decode()}")
            self._check(self.lib.nvrtcGetPTXSize(prog, ctypes.byref(size)), "nvrtcGetPTXSize")
            out = ctypes.create_string_buffer(size.value)
            self._check(self.lib.nvrtcGetPTX(prog, out), "nvrtcGetPTX")
            return out.value.decode("ascii")
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(prog))


def build(nvrtc: Nvrtc, variant: PtxVariant) -> str:
    options = [*NVRTC_OPTIONS, f"--gpu-architecture=compute_{variant.target[3:]}"]
    ptx = nvrtc.ptx(KERNEL_SOURCE, options)
    got = (directive(ptx, "version"), directive(ptx, "target"))
    if got != (PTX_ISA, variant.target):
        raise RuntimeError(f"NVRTC wrote .version {got[0]} .target {got[1]}, want {PTX_ISA} {variant.target}")
    return header(variant, source_sha256()) + ptx


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nvrtc", help="path of libnvrtc.so.12 from NVRTC 12.2")
    ap.add_argument("--check", action="store_true", help="compare with the shipped files; write nothing")
    args = ap.parse_args(argv)
    nvrtc = Nvrtc(_find_nvrtc(args.nvrtc))
    if nvrtc.version != WANT_NVRTC:
        sys.exit(f"build_ptx: NVRTC {nvrtc.version[0]}.{nvrtc.version[1]} found, need 12.2 (ISA {PTX_ISA})")
    stale = []
    for v in VARIANTS:
        text = build(nvrtc, v)
        if args.check:
            if not v.path.is_file() or v.path.read_text(encoding="ascii") != text:
                stale.append(v.path.name)
            continue
        v.path.parent.mkdir(parents=True, exist_ok=True)
        v.path.write_text(text, encoding="ascii")
        print(f"wrote {v.path} ({len(text)} bytes, .version {PTX_ISA}, .target {v.target})")
    if stale:
        print(f"stale: {', '.join(stale)}; run tools/build_ptx.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
