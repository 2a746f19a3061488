"""Normalized (0-1) geometry: anchors, point-in-polygon and segment crossings, vectorized over points."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Anchor = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]
ANCHORS: tuple[Anchor, ...] = ("bottom_center", "center", "top_center", "bottom_left", "bottom_right")


def normalize_boxes(xyxy: FloatArray, width: float, height: float) -> FloatArray:
    """Pixel boxes to 0-1 of the frame, so zones and lines do not depend on the resolution."""
    scale = np.array([width, height, width, height], dtype=np.float64)
    return np.asarray(xyxy, dtype=np.float64) / scale


def anchor_points(xyxy: FloatArray, anchor: Anchor = "bottom_center") -> FloatArray:
    """(N, 2) points of the boxes; bottom centre by default: where an object stands on the ground."""
    x1, y1, x2, y2 = xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    by_name = {
        "bottom_center": (cx, y2),
        "center": (cx, cy),
        "top_center": (cx, y1),
        "bottom_left": (x1, y2),
        "bottom_right": (x2, y2),
    }
    x, y = by_name[anchor]
    return np.stack([x, y], axis=1)


def points_in_polygon(points: FloatArray, polygon: FloatArray) -> BoolArray:
    """Even-odd ray casting, broadcast over (points, edges): no per-point loop."""
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    a = polygon
    b = np.roll(polygon, -1, axis=0)
    px, py = points[:, 0:1], points[:, 1:2]  # (N, 1) against (M,) edges
    straddles = (a[:, 1] > py) != (b[:, 1] > py)
    dy = np.where(b[:, 1] == a[:, 1], 1e-12, b[:, 1] - a[:, 1])
    x_cross = a[:, 0] + (py - a[:, 1]) * (b[:, 0] - a[:, 0]) / dy
    hits = straddles & (px < x_cross)
    return np.asarray(np.count_nonzero(hits, axis=1) % 2 == 1)


def signed_distance(points: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """Distance of points from the infinite line a->b; positive on its right-hand side in image
    coordinates (y down): for a line drawn left to right, below it."""
    d = b - a
    cross = d[0] * (points[:, 1] - a[1]) - d[1] * (points[:, 0] - a[0])
    return np.asarray(cross / max(float(np.hypot(d[0], d[1])), 1e-12))


def segments_cross(p0: FloatArray, p1: FloatArray, a: FloatArray, b: FloatArray) -> BoolArray:
    """Whether each segment p0[i]->p1[i] meets the segment a->b (strictly or touching)."""

    def orient(p: FloatArray, q: FloatArray, r: FloatArray) -> FloatArray:
        return np.asarray(
            (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])
        )

    # a and b are single points: plain broadcasting, no broadcast_to copies (a hot path per frame).
    o1 = orient(p0, p1, a)
    o2 = orient(p0, p1, b)
    o3 = orient(a, b, p0)
    o4 = orient(a, b, p1)
    return np.asarray((o1 * o2 <= 0) & (o3 * o4 <= 0))


def polygon_problem(polygon: FloatArray) -> str | None:
    """Why a zone polygon is unusable (for `edge validate`), or None."""
    if polygon.ndim != 2 or polygon.shape[1] != 2 or len(polygon) < 3:
        return "a polygon needs at least 3 [x, y] points"
    if np.any(polygon < 0) or np.any(polygon > 1):
        return "polygon points must be within 0-1 of the frame"
    n = len(polygon)
    for i in range(n):  # config-time only: O(M^2) over a handful of edges
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            p0, p1 = polygon[i : i + 1], polygon[i + 1 : i + 2]
            if segments_cross(p0, p1, polygon[j], polygon[(j + 1) % n])[0]:
                return "the polygon crosses itself"
    return None
