"""Read an ONNX file's I/O tensors and metadata without running it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.errors import ModelError

Dim = int | str  # a fixed size, or the name of a symbolic one


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[Dim, ...]
    dtype: str  # numpy dtype name


@dataclass(frozen=True)
class OnnxInfo:
    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: dict[str, str]


def _tensors(values: object) -> tuple[TensorInfo, ...]:
    from onnx import helper

    out = []
    for v in values:  # type: ignore[attr-defined]
        t = v.type.tensor_type
        dims: list[Dim] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
        dtype = str(helper.tensor_dtype_to_np_dtype(t.elem_type))
        out.append(TensorInfo(v.name, tuple(dims), dtype))
    return tuple(out)


def read_onnx(path: Path) -> OnnxInfo:
    """Inputs, outputs and metadata of ``path``; one-line ModelError if it is not ONNX."""
    import onnx
    from google.protobuf.message import DecodeError

    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise ModelError(f"{path} is not a readable ONNX model ({type(exc).__name__}); re-export it") from None
    if not model.graph.output:
        raise ModelError(f"{path} is not a readable ONNX model (no graph outputs); re-export it")
    initializers = {i.name for i in model.graph.initializer}
    inputs = tuple(t for t in _tensors(model.graph.input) if t.name not in initializers)
    return OnnxInfo(path, inputs, _tensors(model.graph.output), {p.key: p.value for p in model.metadata_props})
