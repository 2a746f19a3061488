from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge import backends
from edge.backends import create_backend
from edge.errors import BackendUnavailable, ModelError
from tests.helpers import make_onnx


def test_import_edge_loads_no_inference_runtime() -> None:
    code = (
        "import sys, edge, edge.cli, edge.model, edge.models, edge.tasks.decode, edge.backends;"
        "print(sorted(m for m in ('tensorrt', 'pycuda', 'torch', 'onnxruntime', 'ultralytics') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_backend() -> None:
    with pytest.raises(BackendUnavailable, match="unknown backend 'gpu9000'; use one of onnxruntime"):
        create_backend("gpu9000", Path("x.onnx"))


def test_missing_runtime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backends._REGISTRY, "fancy", ("edge_no_such_module", "X", "fancy"))
    with pytest.raises(BackendUnavailable, match=r"pip install 'edge\[fancy\]'"):
        create_backend("fancy", Path("x.onnx"))


def test_onnxruntime_runs_and_reports_io(tmp_path: Path) -> None:
    value = np.arange(6, dtype=np.float32).reshape(1, 6)
    path = make_onnx(tmp_path / "m.onnx", [("scores", (1, 6))], values=[value])
    with create_backend("onnxruntime", path) as be:
        assert [o.name for o in be.outputs] == ["scores"] and be.inputs[0].name == "images"
        (out,) = be.infer(np.zeros((1, 3, 64, 64), dtype=np.float32))
    np.testing.assert_array_equal(out, value)


def test_onnxruntime_rejects_an_invalid_graph(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    # Declares a float output but computes it from an undefined tensor: ORT refuses to load.
    node = helper.make_node("Relu", ["nowhere"], ["out"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3])],
    )
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ModelError, match="ONNX Runtime cannot load the model") as err:
        create_backend("onnxruntime", path)
    assert "\n" not in str(err.value)
