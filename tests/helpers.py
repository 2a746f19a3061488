"""Builders shared by the tests: tiny ONNX graphs with chosen shapes and metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_MODELS = ROOT / "tests" / "fixtures" / "models"
GOLDEN = ROOT / "tests" / "fixtures" / "golden"


def make_onnx(
    path: Path,
    outputs: Sequence[tuple[str, Sequence[int | str]]],
    metadata: dict[str, str] | None = None,
    input_shape: Sequence[int | str] = ("batch", 3, 64, 64),
    values: Sequence[np.ndarray] | None = None,
) -> Path:
    """An ONNX model whose outputs are constants of the given shapes (symbolic dims -> 1).

    The image input is declared but unused: enough to test contracts, layouts and backends.
    """
    nodes, outs = [], []
    for i, (name, shape) in enumerate(outputs):
        concrete = [d if isinstance(d, int) else 1 for d in shape]
        value = values[i] if values is not None else np.zeros(concrete, dtype=np.float32)
        nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value.astype(np.float32))))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))
    graph = helper.make_graph(nodes, "g", [inp], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def ultralytics_meta(task: str, names: Sequence[str], imgsz: int = 64, **extra: str) -> dict[str, str]:
    meta = {"task": task, "names": repr(dict(enumerate(names))), "imgsz": f"[{imgsz}, {imgsz}]", "stride": "32"}
    meta.update(extra)
    return meta


def assert_v1_valid(doc: dict, task: str, multi_label: bool = False) -> None:
    """Validate against the task's v1 schema, and check no value anywhere is null."""
    import json

    import jsonschema

    from edge.jsonfast import dumps_bytes
    from edge.tasks.schema import schema_for

    wire = json.loads(dumps_bytes(doc, allow_nan=True))  # what is sent: Points as their dicts
    jsonschema.validate(wire, schema_for(task, multi_label))
    assert "null" not in json.dumps(wire), "a missing value must be an absent key, never null"
