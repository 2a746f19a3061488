"""The cases the mask-mode tests and tools/record_mask_mode_goldens.py share: which models,
images and option sets, and how a v1 document is made comparable (no random ids)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.model import Model
from edge.tasks.decode import decode_batch
from edge.tasks.instance_segmentation import InstanceSegmentation
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS, GOLDEN

ULTRALYTICS = FIXTURE_MODELS / "shapes-segment.onnx"
IMAGES = [GOLDEN / "images" / f"detect-{i}.png" for i in (0, 2, 4)]
EXPECTED = GOLDEN / "mask-modes.json"
# Frame sizes besides the images' own: scales that are not whole numbers of cells.
RESCALES = [(1280, 720), (997, 611)]

MODES: dict[str, dict[str, Any]] = {
    "accurate": {"mask_decode_mode": "accurate"},
    "fast": {"mask_decode_mode": "fast"},
    "tradeoff 0.5": {"mask_decode_mode": "tradeoff", "tradeoff_factor": 0.5},
    "tradeoff 1": {"mask_decode_mode": "tradeoff", "tradeoff_factor": 1.0},
}


def params(mode: str, mask_format: str = "polygon") -> InferenceParams:
    return InferenceParams.from_hosted(confidence=0.4, overlap=0.3, response_mask_format=mask_format, **MODES[mode])


def frames() -> list[tuple[str, npt.NDArray[np.uint8]]]:
    """(name, BGR frame): the golden images as they are and rescaled."""
    out: list[tuple[str, npt.NDArray[np.uint8]]] = []
    for path in IMAGES:
        image = cv2.imread(str(path))
        assert image is not None, path
        out.append((path.name, image))
        for w, h in RESCALES:
            out.append((f"{path.name}@{w}x{h}", cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)))
    return out


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without its random ids."""
    preds = [{k: v for k, v in p.items() if k != "detection_id"} for p in doc["predictions"]]
    return {"image": doc["image"], "predictions": preds}


def package_path(root: Path) -> Path:
    return root / "shapes-segment-package"


def outputs(model: Model, image: npt.NDArray[np.uint8]) -> Any:
    """The model's raw outputs for one frame, to decode in several modes without rerunning it."""
    return model.backend.infer_images([image], model.spec.preprocess)


def decode(model: Model, raw: Any, p: InferenceParams) -> InstanceSegmentation:
    outs, geoms = raw
    result = decode_batch(model.spec, outs, geoms, p, [o.name for o in model.backend.outputs])[0]
    assert isinstance(result, InstanceSegmentation)
    return result
