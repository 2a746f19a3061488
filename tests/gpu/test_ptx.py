"""The shipped PTX of the preprocessing kernel: up to date with the source, loadable by JetPack 6.

No GPU needed: the files are text. That the driver loads them and the kernel matches the CPU
path is the device check's job (tools/device_cuda_check.sh).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.gpu import ptx
from edge.gpu.kernel import KERNEL_NAME


@pytest.mark.parametrize("variant", ptx.VARIANTS, ids=lambda v: v.target)
def test_shipped_ptx_is_built_from_this_kernel_source_for_jetpack_6(variant: ptx.PtxVariant) -> None:
    text = variant.path.read_text(encoding="ascii")
    fields = ptx.header_fields(text)
    assert fields["source_sha256"] == ptx.source_sha256(), "stale PTX: run tools/build_ptx.py"
    # ISA 8.2 is what CUDA 12.2 (JetPack 6.0's driver) loads; CUDA 13's nvcc would write 9.0.
    assert ptx.directive(text, "version") == "8.2" == fields["isa"]
    assert ptx.directive(text, "target") == variant.target == fields["target"]
    assert ptx.directive(text, "address_size") == "64"
    assert fields["toolchain"].startswith("NVRTC 12.2") and f".entry {KERNEL_NAME}(" in text


@pytest.mark.parametrize(
    ("capability", "target"),
    [((8, 7), "sm_87"), ((8, 6), "sm_50"), ((7, 2), "sm_50"), ((9, 0), "sm_50"), ((5, 0), "sm_50")],
)
def test_orin_gets_its_own_ptx_and_other_gpus_the_generic_one(capability: tuple[int, int], target: str) -> None:
    assert ptx.variant_for(capability).target == target


def test_a_gpu_older_than_the_generic_ptx_is_refused() -> None:
    with pytest.raises(ptx.KernelUnavailable, match=r"compute capability 3\.5"):
        ptx.variant_for((3, 5))


def test_load_ptx_is_nul_terminated() -> None:
    data = ptx.load_ptx(ptx.VARIANTS[0])
    assert data.endswith(b"\0") and data.count(b"\0") == 1


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read the shipped kernel"),
        ("// edge-ptx: source_sha256 " + "0" * 64 + "\n.version 8.2\n", "is stale"),
        ("no header at all\n", "is stale"),
    ],
)
def test_a_missing_or_stale_ptx_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str | None, error: str
) -> None:
    monkeypatch.setattr(ptx, "PTX_DIR", tmp_path)
    v = ptx.VARIANTS[0]
    if content is not None:
        v.path.write_text(content, encoding="ascii")
    with pytest.raises(ptx.KernelUnavailable, match=error):
        ptx.load_ptx(v)
