"""Find a model's contract from a path: an ONNX file or a Roboflow model package directory."""

from __future__ import annotations

from pathlib import Path

from edge.errors import ModelError
from edge.models.onnx_file import read_onnx
from edge.models.package import spec_from_package
from edge.models.spec import ModelSpec
from edge.models.ultralytics_meta import spec_from_ultralytics
from edge.tasks.layout import check_output_shapes


def load_spec(path: str | Path) -> ModelSpec:
    """The model contract for ``path``, with its declared outputs checked against its task."""
    p = Path(path).expanduser()
    if p.is_dir():
        spec = spec_from_package(p)
    elif p.is_file():
        info = read_onnx(p)
        sidecar = p.parent / "class_names.txt"
        spec = (
            spec_from_package(p.parent)
            if sidecar.is_file() and "names" not in info.metadata
            else spec_from_ultralytics(info)
        )
    else:
        raise ModelError(f"model not found: {p} (give an .onnx file or a model package directory)")
    if len(spec.inputs) != 1 or len(spec.inputs[0].shape) != 4:
        shapes = ", ".join(f"{t.name}{t.shape}" for t in spec.inputs)
        raise ModelError(f"{spec.onnx_path}: expected one NCHW image input, found {shapes or 'none'}")
    check_output_shapes(spec, [(t.name, t.shape) for t in spec.outputs])
    return spec
