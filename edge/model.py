"""A loaded model: contract, backend, preprocessing and decoding behind one call."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.backends import Backend, create_backend
from edge.models import ModelSpec, load_spec
from edge.tasks.decode import Result, decode_batch
from edge.tasks.params import InferenceParams
from edge.tasks.v1 import new_id


@dataclass(frozen=True)
class Prediction:
    """One image's result with the wall time it took and an id, ready for ``to_v1``."""

    result: Result
    inference_id: str
    seconds: float

    def to_v1(self) -> dict[str, Any]:
        return self.result.to_v1(inference_id=self.inference_id, time=round(self.seconds, 6))


class Model:
    """Runs images through one model. Not thread-safe: one caller at a time."""

    def __init__(self, spec: ModelSpec, backend: Backend) -> None:
        self.spec = spec
        self.backend = backend
        self._output_names = [o.name for o in backend.outputs]

    @classmethod
    def open(cls, path: str | Path, backend: str = "onnxruntime", **options: Any) -> Model:
        spec = load_spec(path)
        return cls(spec, create_backend(backend, spec.onnx_path, **options))

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def predict(
        self, images: Sequence[npt.NDArray[np.uint8]], params: InferenceParams | None = None
    ) -> list[Prediction]:
        """Predict on BGR images, in chunks no larger than the model's fixed batch size."""
        params = params or InferenceParams()
        step = self.spec.batch or len(images) or 1
        out: list[Prediction] = []
        for s in range(0, len(images), step):
            chunk = images[s : s + step]
            t0 = time.perf_counter()
            outputs, geoms = self.backend.infer_images(chunk, self.spec.preprocess)
            results = decode_batch(self.spec, outputs, geoms, params, self._output_names)
            per_image = (time.perf_counter() - t0) / len(chunk)
            out.extend(Prediction(r, new_id(), per_image) for r in results)
        return out
