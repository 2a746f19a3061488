"""Instance masks stored box-locally: each mask is a crop of the frame plus its offset.

A crowded 1280x720 frame with 60 instances holds 55 MB of full-frame bool masks (and the
float maps they come from four times that); the same masks as crops hold what the boxes
cover, typically a few hundred KB. Everything on the segmentation path (decoding, polygons,
v1 JSON, parsing v1 JSON back) works on crops; :meth:`MaskCrops.full` builds the
``(n, H, W)`` stack on demand for callers that want one (evaluation, comparisons).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.tasks import native


@dataclass(frozen=True)
class MaskCrops:
    """n masks on a ``width`` x ``height`` frame.

    ``windows`` (n, 4) int64 ``x0, y0, x1, y1`` frame pixels, 0 <= x0 <= x1 <= width (same for
    y); ``crops[i]`` the (y1 - y0, x1 - x0) bool mask inside window i. Outside its window a
    mask is empty.
    """

    windows: npt.NDArray[np.int64]
    crops: tuple[npt.NDArray[np.bool_], ...]
    width: int
    height: int

    def __post_init__(self) -> None:
        w = self.windows
        if w.ndim != 2 or w.shape[1:] != (4,) or w.dtype != np.int64 or len(w) != len(self.crops):
            raise EdgeError(f"windows must be int64 (n, 4) with n={len(self.crops)}, got {w.dtype} {w.shape}")
        if len(w) and (
            (w[:, :2] < 0).any()
            or (w[:, 2:] < w[:, :2]).any()
            or (w[:, 2] > self.width).any()
            or (w[:, 3] > self.height).any()
        ):
            raise EdgeError(f"mask windows must lie inside the {self.width}x{self.height} frame")
        for (x0, y0, x1, y1), crop in zip(w.tolist(), self.crops):
            if crop.dtype != np.bool_ or crop.shape != (y1 - y0, x1 - x0):
                raise EdgeError(
                    f"a mask crop must be bool of its window's shape {(y1 - y0, x1 - x0)}, got {crop.shape}"
                )

    @classmethod
    def empty(cls, width: int, height: int) -> MaskCrops:
        return cls(np.zeros((0, 4), dtype=np.int64), (), width, height)

    def __len__(self) -> int:
        return len(self.crops)

    def area(self) -> npt.NDArray[np.int64]:
        """(n,) pixels set in each mask."""
        return np.array([int(c.sum()) for c in self.crops], dtype=np.int64)

    def full(self) -> npt.NDArray[np.bool_]:
        """(n, H, W) full-frame masks. Allocates n x frame area: for callers, not the hot path."""
        out = np.zeros((len(self.crops), self.height, self.width), dtype=bool)
        for i, ((x0, y0, x1, y1), crop) in enumerate(zip(self.windows.tolist(), self.crops)):
            out[i, y0:y1, x0:x1] = crop
        return out

    def polygons(self) -> list[npt.NDArray[np.float64]]:
        """One (k, 2) outline per mask in frame pixels, traced inside its crop: by the compiled
        kernel where it is built (OpenCV's points, one call for all masks), else OpenCV's."""
        if native.available():
            return native.longest_contours(self.crops, self.windows, direct=False)
        return [mask_to_polygon(c, (x0, y0)) for (x0, y0, _, _), c in zip(self.windows.tolist(), self.crops)]

    @classmethod
    def from_polygons(cls, polygons: Sequence[npt.NDArray[np.floating]], width: int, height: int) -> MaskCrops:
        """Rasterise each polygon inside its own bounding box (same pixels as filling the frame)."""
        windows = np.zeros((len(polygons), 4), dtype=np.int64)
        crops: list[npt.NDArray[np.bool_]] = []
        for i, points in enumerate(polygons):
            pts = np.round(np.asarray(points, dtype=np.float64).reshape(-1, 2)).astype(np.int32)
            if len(pts) < 3:
                crops.append(np.zeros((0, 0), dtype=bool))
                continue
            x0, y0 = np.clip(pts.min(axis=0), 0, [width, height]).tolist()
            x1, y1 = np.clip(pts.max(axis=0) + 1, 0, [width, height]).tolist()
            x1, y1 = max(x1, x0), max(y1, y0)
            crop = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
            if crop.size:
                cv2.fillPoly(crop, [pts], 1, offset=(-x0, -y0))
            windows[i] = (x0, y0, x1, y1)
            crops.append(crop.astype(bool))
        return cls(windows, tuple(crops), width, height)


def mask_to_polygon(mask: npt.NDArray[np.bool_], offset: tuple[int, int] = (0, 0)) -> npt.NDArray[np.float64]:
    """(k, 2) outline of the mask's contour with the most points, shifted by ``offset``;
    (0, 2) for an empty mask.

    Every vertex of CHAIN_APPROX_SIMPLE is kept (no further simplification), as Roboflow's
    inference server does; see docs/masks.md.
    """
    if not mask.size:
        return np.zeros((0, 2))
    pixels = np.ascontiguousarray(mask).view(np.uint8)  # bool is one byte: no copy
    contours, _ = cv2.findContours(pixels, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=offset)
    if not contours:
        return np.zeros((0, 2))
    best = max(contours, key=len)
    return best.reshape(-1, 2).astype(np.float64)


def polygon_to_mask(points: npt.NDArray[np.floating], width: int, height: int) -> npt.NDArray[np.bool_]:
    """A full-frame mask of one polygon (for callers that want one; the hot path uses crops)."""
    full: npt.NDArray[np.bool_] = MaskCrops.from_polygons([points], width, height).full()[0]
    return full
