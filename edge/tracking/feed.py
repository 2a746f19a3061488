"""v1 documents in and out of the tracker: predictions to `Detections`, tracker ids back onto them.

Detection, instance segmentation and keypoint predictions all carry the box as `x, y, width,
height` (centre and size, pixels) plus `class` and `confidence`; masks and keypoints ride along
untouched. Classes are keyed by name through a per-stream table, not by `class_id`, so a hosted
answer and a local one agree even where their `class_id`s differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.tracking.detections import Detections


@dataclass(frozen=True)
class Frame:
    """One result, ready for the tracker: pixel detections, their class names and the image size."""

    detections: Detections
    class_names: tuple[str, ...]
    width: float
    height: float


def frame_from_v1(v1: Mapping[str, Any], class_ids: dict[str, int]) -> Frame:
    """Raises ValueError (one line) on a document without boxes; grows `class_ids` with new names."""
    image = v1.get("image")
    if not isinstance(image, Mapping):
        raise ValueError("tracking: the v1 document has no image {width, height}")
    width, height = float(image.get("width", 0)), float(image.get("height", 0))
    if not (width > 0 and height > 0):
        raise ValueError(f"tracking: image size {width}x{height} is not positive")
    preds = v1.get("predictions", [])
    if not isinstance(preds, Sequence) or isinstance(preds, (str, bytes)):
        raise ValueError("tracking: predictions must be a list of boxes (detection, segmentation or keypoints)")
    try:
        rows = [(p["x"], p["y"], p["width"], p["height"], p["confidence"]) for p in preds]
        names = tuple(str(p["class"]) for p in preds)
    except (KeyError, TypeError) as e:
        raise ValueError(f"tracking: a prediction lacks x, y, width, height, confidence or class ({e})") from None
    values = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    half = values[:, 2:4] / 2
    xyxy = np.concatenate([values[:, 0:2] - half, values[:, 0:2] + half], axis=1)
    for name in names:
        class_ids.setdefault(name, len(class_ids))
    cls = np.fromiter((class_ids[n] for n in names), dtype=np.int64, count=len(names))
    return Frame(Detections(xyxy, cls, values[:, 4]), names, width, height)


def with_tracker_ids(v1: Mapping[str, Any], tracker_ids: npt.NDArray[np.int64]) -> dict[str, Any]:
    """A copy of `v1` whose confirmed predictions carry "tracker_id"; nothing dropped, input untouched."""
    preds = v1.get("predictions", [])
    out = [{**p, "tracker_id": tid} if tid >= 0 else p for p, tid in zip(preds, tracker_ids.tolist())]
    return {**v1, "predictions": out}
