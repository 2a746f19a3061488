from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
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


def _external_model(folder: Path, kind: str) -> Path:
    """A small model whose weights are saved as external data (as models over 2 GB must be)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnx.external_data_helper import convert_model_to_external_data

    from tests.helpers import make_onnx

    path = folder / "big.onnx"
    weights = np.arange(4096, dtype=np.float32).reshape(1, 4096)
    if kind == "initializer":
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4096])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4096])
        add = helper.make_node("Add", ["x", "w"], ["y"])
        graph = helper.make_graph([add], "g", [x], [y], initializer=[numpy_helper.from_array(weights, "w")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    else:  # a Constant node's tensor attribute
        model = onnx.load(str(make_onnx(folder / "plain.onnx", [("out", (1, 4096))], values=[weights])))
    convert_model_to_external_data(model, location="big.weights", size_threshold=0, convert_attribute=True)
    onnx.save(model, str(path))
    assert (folder / "big.weights").stat().st_size >= weights.nbytes
    return path


@pytest.mark.parametrize("kind", ["initializer", "attribute"])
def test_the_model_digest_covers_external_weights(tmp_path: Path, kind: str) -> None:
    from edge.engines.key import external_data_locations

    model = _external_model(tmp_path, kind)
    assert external_data_locations(model) == ("big.weights",)
    first = FileHashCache().model_sha256(model)
    assert first != FileHashCache().sha256(model)

    weights = tmp_path / "big.weights"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # new weights, the .onnx file untouched
    weights.write_bytes(bytes(data))
    assert FileHashCache().model_sha256(model) != first

    weights.unlink()
    with pytest.raises(EngineError, match=r"big\.onnx keeps weights in big\.weights, which is missing"):
        FileHashCache().model_sha256(model)


def test_a_model_without_external_data_keeps_its_plain_file_digest(tmp_path: Path) -> None:
    from tests.helpers import make_onnx

    model = make_onnx(tmp_path / "m.onnx", [("out", (1, 8))])
    cache = FileHashCache()
    assert cache.model_sha256(model) == cache.sha256(model)  # engines built before keep their keys
