from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.backends.base import Backend
from edge.errors import OutputShapeError
from edge.model import Model
from edge.models import load_spec
from edge.models.onnx_file import TensorInfo
from edge.tasks.classification import Classification
from tests.helpers import make_onnx, ultralytics_meta


class RecordingBackend(Backend):
    """Returns fixed scores and remembers the batch sizes it was given."""

    name = "recording"

    def __init__(self, out: np.ndarray) -> None:
        self.out = out
        self.batches: list[int] = []
        self.outputs = (TensorInfo("output0", tuple(out.shape[1:]), "float32"),)

    def infer(self, batch: np.ndarray) -> list[np.ndarray]:
        self.batches.append(len(batch))
        return [np.repeat(self.out, len(batch), axis=0)]


def _classifier(tmp_path: Path, batch: int | str) -> Path:
    meta = ultralytics_meta("classify", ["a", "b", "c"])
    return make_onnx(tmp_path / "c.onnx", [("output0", (batch, 3))], meta, input_shape=(batch, 3, 64, 64))


@pytest.mark.parametrize(("batch", "calls"), [(1, [1, 1, 1]), ("batch", [3])])
def test_predict_respects_the_models_batch_size(tmp_path: Path, batch: int | str, calls: list[int]) -> None:
    be = RecordingBackend(np.array([[0.1, 0.7, 0.2]], dtype=np.float32))
    model = Model(load_spec(_classifier(tmp_path, batch)), be)
    images = [np.zeros((48 + 8 * i, 64, 3), dtype=np.uint8) for i in range(3)]
    preds = model.predict(images)
    assert be.batches == calls
    assert all(isinstance(p.result, Classification) for p in preds)
    assert [p.result.image.height for p in preds] == [48, 56, 64]  # order kept
    doc = preds[0].to_v1()
    assert doc["top"] == "b" and doc["inference_id"] == preds[0].inference_id and doc["time"] >= 0


def test_runtime_output_that_does_not_fit_is_named(tmp_path: Path) -> None:
    be = RecordingBackend(np.zeros((1, 5), dtype=np.float32))  # 5 scores for a 3-class model
    model = Model(load_spec(_classifier(tmp_path, 1)), be)
    with pytest.raises(OutputShapeError, match=r"output 'output0' has shape \(1, 5\), expected \(batch, 3\)"):
        model.predict([np.zeros((64, 64, 3), dtype=np.uint8)])
