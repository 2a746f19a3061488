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
from edge.tasks.resample import AxisTaps, linear_taps
from edge.tasks.v1 import ImageSize, envelope, png_b64, png_from_b64

_BAND_ROWS = 128  # output rows resized at a time: bounds the float work area


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


def _vertical(horiz: npt.NDArray[np.float32], band: AxisTaps) -> list[npt.NDArray[np.float32]]:
    """One (rows, w) plane per class: the band's output rows blended from their two source rows.

    Upscaled rows come in runs that read the same source pair, so each run is two broadcast
    multiplies written in place (no gathered copies of the source rows).
    """
    n, w = len(band), horiz.shape[2]
    out: list[npt.NDArray[np.float32]] = [np.empty((n, w), dtype=np.float32) for _ in range(len(horiz))]
    tmp = np.empty((n, w), dtype=np.float32)
    starts = np.flatnonzero(np.r_[True, (band.lo[1:] != band.lo[:-1]) | (band.hi[1:] != band.hi[:-1])])
    for s, e in zip(starts.tolist(), [*starts[1:].tolist(), n]):
        lo, hi, w0, w1 = int(band.lo[s]), int(band.hi[s]), band.w0[s:e, None], band.w1[s:e, None]
        for c, plane in enumerate(out):
            np.multiply(w0, horiz[c, lo], out=plane[s:e])
            np.multiply(w1, horiz[c, hi], out=tmp[: e - s])
            plane[s:e] += tmp[: e - s]
    return out


def _class_map(
    logits: npt.NDArray[np.float32], w: int, h: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Argmax class and its softmax probability per pixel of the (C, h0, w0) logits resized
    bilinearly to (h, w), as inference_models does (resize logits, softmax, argmax).

    The resize is cv2.resize's (same taps, :mod:`edge.tasks.resample`), done along x once at
    the source's few rows and along y one band of output rows at a time, so the float work
    area is C x band x w instead of C x h x w (4 classes at 4K: 16 MB instead of 530 MB).
    """
    rows, cols = linear_taps(logits.shape[1], h), linear_taps(logits.shape[2], w)
    horiz = logits[:, :, cols.lo] * cols.w0 + logits[:, :, cols.hi] * cols.w1  # (C, h0, w)
    ids = np.empty((h, w), dtype=np.uint8)
    conf = np.empty((h, w), dtype=np.float32)
    for y0 in range(0, h, _BAND_ROWS):
        band = rows.window(y0, min(h, y0 + _BAND_ROWS))
        y1 = y0 + len(band)
        v = _vertical(horiz, band)
        # Class by class on contiguous planes: numpy's max/argmax/sum over a leading axis of
        # a few classes are several times slower than these elementwise passes.
        top, best = v[0].copy(), ids[y0:y1]
        best[:] = 0
        for c in range(1, len(v)):
            np.copyto(best, np.uint8(c), where=v[c] > top)  # strict: the first maximum wins, as argmax
            np.maximum(top, v[c], out=top)
        total = np.zeros_like(top)
        for plane in v:
            plane -= top
            total += np.exp(plane, out=plane)
        np.divide(np.float32(1.0), total, out=conf[y0:y1])
    return ids, conf


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
    ids, conf = _class_map(logits, size.width, size.height)
    if class_offset:
        ids += np.uint8(class_offset)
    return SemanticSegmentation(ids, class_names, size, conf)
