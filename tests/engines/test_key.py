from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from edge.engines.errors import EngineError
from edge.engines.key import DeviceInfo, EngineKey, FileHashCache

BASE = EngineKey(
    onnx_sha256="a" * 64,
    tensorrt_version="10.3.0",
    gpu_name="Orin",
    compute_capability="8.7",
    dla_core=None,
    precision="fp16",
    calibration_sha256=None,
    profile=((1, 3, 640, 640), (1, 3, 640, 640), (1, 3, 640, 640)),
    builder_flags=("FP16",),
    workspace_mib=None,
)


def test_the_digest_is_stable_across_runs_and_versions() -> None:
    # A change here invalidates every engine users have built: bump KEY_FORMAT deliberately.
    assert BASE.digest == "cf2dff52c6b67c5a11ee"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("onnx_sha256", "b" * 64),
        ("tensorrt_version", "10.3.1"),
        ("gpu_name", "Xavier"),
        ("compute_capability", "7.2"),
        ("dla_core", 0),
        ("precision", "int8"),
        ("calibration_sha256", "c" * 64),
        ("profile", ((1, 3, 640, 640), (4, 3, 640, 640), (8, 3, 640, 640))),
        ("builder_flags", ("FP16", "GPU_FALLBACK")),
        ("workspace_mib", 512),
        ("format", 2),
    ],
)
def test_every_field_changes_the_key(field: str, value: Any) -> None:
    assert dataclasses.replace(BASE, **{field: value}).digest != BASE.digest


def test_fields_round_trip() -> None:
    key = dataclasses.replace(BASE, dla_core=1, calibration_sha256="c" * 64, workspace_mib=256)
    assert EngineKey.from_fields(key.fields()) == key


@pytest.mark.parametrize(
    "broken",
    [{"profile": None}, {"dla_core": "x"}, {"onnx_sha256": "short"}, {}],
)
def test_malformed_fields_are_engine_errors(broken: dict[str, Any]) -> None:
    fields = BASE.fields() | broken if broken else {"format": 1}
    with pytest.raises(EngineError):
        EngineKey.from_fields(fields)


def test_device_slug_is_a_file_name() -> None:
    assert (
        DeviceInfo("10.3.0", "NVIDIA Jetson AGX Orin (64GB)", (8, 7)).slug
        == "trt10.3.0-nvidia-jetson-agx-orin-64gb-sm87"
    )


def test_file_hashes_are_remembered_until_the_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edge.engines import key

    reads: list[Path] = []
    real = key.sha256_file
    monkeypatch.setattr(key, "sha256_file", lambda p: reads.append(p) or real(p))
    cache = FileHashCache()
    f = tmp_path / "m.onnx"
    f.write_bytes(b"one")
    first = cache.sha256(f)
    assert cache.sha256(f) == first and len(reads) == 1
    f.write_bytes(b"two")
    os.utime(f, ns=(1, 1))  # a different mtime, as any rewrite gives
    assert cache.sha256(f) != first and len(reads) == 2
