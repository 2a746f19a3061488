"""The preprocessing kernel as shipped PTX: chosen per GPU, checked against the kernel source.

pycuda's ``SourceModule`` would run ``nvcc`` at run time and cache under ``$HOME``; on a
Jetson ``nvcc`` is not on the service's ``PATH`` and the hardened unit has no writable home,
so edge ships the kernel compiled to PTX (``edge/gpu/ptx/*.ptx``, made by
``tools/build_ptx.py``) and the driver JIT-compiles it when the module is loaded. Two files:
one for Orin (sm_87, the only GPU JetPack 6 supports) and a generic sm_50 one any newer GPU
can JIT. Both declare PTX ISA 8.2 (CUDA 12.2, JetPack 6.0's driver); a newer ISA would not
load on JetPack 6's driver. Nothing here imports pycuda.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError
from edge.gpu.kernel import KERNEL_NAME, KERNEL_SOURCE

PTX_DIR = Path(__file__).with_name("ptx")
PTX_ISA = "8.2"  # CUDA 12.2: the oldest driver of JetPack 6 loads it
TOOLCHAIN = "NVRTC 12.2.140 (pip nvidia-cuda-nvrtc-cu12==12.2.140)"
NVRTC_OPTIONS = ("--fmad=false",)  # no fused multiply-add: the same rounding as the CPU path
_HEADER = re.compile(r"^// edge-ptx: (\w+) (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class PtxVariant:
    """One shipped PTX file: the ``.target`` it declares and the GPUs it is loaded on."""

    target: str  # "sm_87"
    exact: bool  # True: only GPUs of exactly this compute capability; False: any at or above

    @property
    def capability(self) -> tuple[int, int]:
        digits = self.target.removeprefix("sm_")
        return int(digits[:-1]), int(digits[-1])

    @property
    def path(self) -> Path:
        return PTX_DIR / f"{KERNEL_NAME}.{self.target}.ptx"

    def fits(self, capability: tuple[int, int]) -> bool:
        return capability == self.capability if self.exact else capability >= self.capability


# Most specific first: Orin gets PTX tuned for it, anything else the generic one.
VARIANTS = (PtxVariant("sm_87", exact=True), PtxVariant("sm_50", exact=False))


class KernelUnavailable(EdgeError):
    """The shipped kernel cannot be used on this GPU (missing, stale, or refused by the driver)."""


def source_sha256() -> str:
    return hashlib.sha256(KERNEL_SOURCE.encode()).hexdigest()


def header(variant: PtxVariant, source_digest: str) -> str:
    """The comment block ``tools/build_ptx.py`` puts above the PTX."""
    return (
        f"// edge-ptx: kernel {KERNEL_NAME}\n"
        f"// edge-ptx: source_sha256 {source_digest}\n"
        f"// edge-ptx: toolchain {TOOLCHAIN}\n"
        f"// edge-ptx: options {' '.join(NVRTC_OPTIONS)} --gpu-architecture=compute_{variant.target[3:]}\n"
        f"// edge-ptx: isa {PTX_ISA}\n"
        f"// edge-ptx: target {variant.target}\n"
        "// edge-ptx: made by tools/build_ptx.py from edge/gpu/kernel.py; do not edit\n"
    )


def header_fields(ptx: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for m in _HEADER.finditer(ptx)}


def directive(ptx: str, name: str) -> str | None:
    """The value of a PTX directive such as ``.version`` or ``.target``."""
    m = re.search(rf"^\s*\.{name}\s+(\S+)", ptx, re.MULTILINE)
    return m.group(1) if m else None


def variant_for(capability: tuple[int, int]) -> PtxVariant:
    for v in VARIANTS:
        if v.fits(capability):
            return v
    raise KernelUnavailable(f"no shipped preprocessing kernel for compute capability {capability[0]}.{capability[1]}")


def load_ptx(variant: PtxVariant) -> bytes:
    """The variant's PTX, NUL-terminated as the driver wants it; KernelUnavailable if the file is
    missing or was built from another kernel source than this edge's."""
    try:
        text = variant.path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KernelUnavailable(f"cannot read the shipped kernel {variant.path}: {exc}") from None
    got = header_fields(text).get("source_sha256")
    if got != source_sha256():
        raise KernelUnavailable(f"{variant.path.name} is stale (kernel source changed); run tools/build_ptx.py")
    return text.encode("ascii") + b"\0"
