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
from edge.tasks.v1 import ImageSize, envelope, png_b64, png_from_b64

_CV_MAX_CHANNELS = 512


@dataclass(frozen=True)
class SemanticSegmentation:
    """``class_map`` (H, W) uint8 class ids at the original image size; ``confidence``
    (H, W) float32 probability of the chosen class, when the model gives one."""

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


def _resize_channels(x: npt.NDArray[np.float32], w: int, h: int) -> npt.NDArray[np.float32]:
    """Bilinear resize of (C, h0, w0) to (C, h, w), C split to fit OpenCV's channel limit."""
    parts = []
    for s in range(0, len(x), _CV_MAX_CHANNELS):
        chunk = np.ascontiguousarray(x[s : s + _CV_MAX_CHANNELS].transpose(1, 2, 0))
        parts.append(cv2.resize(chunk, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1).transpose(2, 0, 1))
    return np.concatenate(parts)


def decode_semantic(
    output: npt.NDArray[np.generic], geometry: Geometry, class_names: tuple[str, ...], class_offset: int = 0
) -> SemanticSegmentation:
    """From (C, h, w) logits or an (h, w) class map for one image."""
    size = ImageSize(geometry.src_w, geometry.src_h)
    oh, ow = output.shape[-2:]
    x0, y0, x1, y1 = geometry.content_window()
    sx, sy = ow / geometry.net_w, oh / geometry.net_h
    cx0, cy0 = int(round(x0 * sx)), int(round(y0 * sy))
    cx1, cy1 = max(int(round(x1 * sx)), cx0 + 1), max(int(round(y1 * sy)), cy0 + 1)
    if output.ndim == 2:
        ids = np.asarray(output)[cy0:cy1, cx0:cx1].astype(np.uint8)
        class_map = cv2.resize(ids, (size.width, size.height), interpolation=cv2.INTER_NEAREST)
        return SemanticSegmentation((class_map + class_offset).astype(np.uint8), class_names, size)
    logits = np.asarray(output, dtype=np.float32)[:, cy0:cy1, cx0:cx1]
    big = _resize_channels(logits, size.width, size.height)
    best = big.argmax(axis=0)
    top = np.take_along_axis(big, best[None], axis=0)[0]
    conf = 1.0 / np.exp(big - top[None]).sum(axis=0)  # softmax probability of the argmax
    return SemanticSegmentation((best + class_offset).astype(np.uint8), class_names, size, conf.astype(np.float32))
