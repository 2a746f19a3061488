"""Semantic segmentation: a class id per pixel, sent as segment.roboflow.com sends it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.preprocess import Geometry
from edge.tasks.class_map import class_map, class_map_with_confidence
from edge.tasks.v1 import ImageSize, envelope, png_b64, png_from_b64


@dataclass(frozen=True)
class SemanticSegmentation:
    """``class_map`` (H, W) uint8 class ids at the original image size; ``confidence``
    (H, W) float32 probability of the chosen class, when asked for (``decode_semantic``)."""

    class_map: npt.NDArray[np.uint8]
    class_names: tuple[str, ...]
    image: ImageSize
    confidence: npt.NDArray[np.float32] | None = field(default=None)

    def __post_init__(self) -> None:
        want = (self.image.height, self.image.width)
        if self.class_map.shape != want or self.class_map.dtype != np.uint8:
            raise EdgeError(
                f"class_map must be uint8 with shape {want}, got {self.class_map.dtype} {self.class_map.shape}"
            )
        if self.confidence is not None and self.confidence.shape != want:
            raise EdgeError(f"confidence must have shape {want}, got {self.confidence.shape}")
        if len(self.class_names) > 256:
            raise EdgeError(f"a PNG class map holds at most 256 classes, the model has {len(self.class_names)}")

    def present_class_ids(self) -> list[int]:
        counts = np.bincount(self.class_map.ravel(), minlength=len(self.class_names))
        return [int(i) for i in np.flatnonzero(counts)]

    def to_v1(self, inference_id: str | None = None, time: float | None = None) -> dict[str, Any]:
        doc = envelope(self.image, inference_id, time)
        doc["segmentation_mask"] = png_b64(self.class_map)
        doc["class_map"] = {str(i): name for i, name in enumerate(self.class_names)}
        return doc

    @classmethod
    def from_v1(cls, doc: Mapping[str, Any], class_names: tuple[str, ...] | None = None) -> SemanticSegmentation:
        # segment.roboflow.com puts the mask at the top level; the inference server nests it.
        body = doc if "segmentation_mask" in doc else doc.get("predictions")
        if not isinstance(body, Mapping) or "segmentation_mask" not in body:
            raise EdgeError("v1 semantic-segmentation response has no segmentation_mask")
        size = ImageSize.from_v1(doc)
        mask = png_from_b64(str(body["segmentation_mask"]))
        if mask.shape != (size.height, size.width):
            mask = np.asarray(cv2.resize(mask, (size.width, size.height), interpolation=cv2.INTER_NEAREST), np.uint8)
        if class_names is None:
            cmap = body.get("class_map") or {}
            class_names = tuple(str(cmap.get(str(i), f"class_{i}")) for i in range(max(map(int, cmap), default=-1) + 1))
        return cls(mask, class_names, size)


def decode_semantic(
    output: npt.NDArray[np.generic],
    geometry: Geometry,
    class_names: tuple[str, ...],
    class_offset: int = 0,
    with_confidence: bool = False,
) -> SemanticSegmentation:
    """From (C, h, w) logits or an (h, w) class map for one image.

    ``with_confidence`` also computes each pixel's softmax probability (a float per pixel, and
    a softmax over every class at every pixel); the v1 JSON does not carry it, so the pipeline
    leaves it off.
    """
    size = ImageSize(geometry.src_w, geometry.src_h)
    oh, ow = output.shape[-2:]
    x0, y0, x1, y1 = geometry.content_window()
    sx, sy = ow / geometry.net_w, oh / geometry.net_h
    cx0, cy0 = int(round(x0 * sx)), int(round(y0 * sy))
    cx1, cy1 = max(int(round(x1 * sx)), cx0 + 1), max(int(round(y1 * sy)), cy0 + 1)
    if output.ndim == 2:
        ids = np.asarray(output)[cy0:cy1, cx0:cx1].astype(np.uint8)
        nearest = cv2.resize(ids, (size.width, size.height), interpolation=cv2.INTER_NEAREST)
        return SemanticSegmentation((nearest + class_offset).astype(np.uint8), class_names, size)
    logits = np.asarray(output, dtype=np.float32)[:, cy0:cy1, cx0:cx1]
    conf = None
    if with_confidence:
        ids, conf = class_map_with_confidence(logits, size.width, size.height)
    else:
        ids = class_map(logits, size.width, size.height)
    if class_offset:
        ids += np.uint8(class_offset)
    return SemanticSegmentation(ids, class_names, size, conf)
