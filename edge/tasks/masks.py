"""Instance masks: from YOLO prototypes to full-size masks, and masks to polygons."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from edge.preprocess import Geometry

_CHUNK = 128  # masks resized per cv2 call: bounds memory at n x H x W float32 per chunk


def masks_from_protos(
    coeffs: npt.NDArray[np.floating],
    protos: npt.NDArray[np.floating],
    geometry: Geometry,
    xyxy: npt.NDArray[np.floating],
) -> npt.NDArray[np.bool_]:
    """(n, H, W) masks at the original image size, each cropped to its box.

    ``coeffs`` (n, M) mask coefficients, ``protos`` (M, h, w), ``xyxy`` (n, 4) boxes in
    original pixels. Drop the letterbox padding from the prototype-resolution logits, resize
    them bilinearly to the image, crop to the box and keep logits > 0, i.e. sigmoid > 0.5.
    Interpolating logits rather than probabilities is what Ultralytics' native masks (and the
    inference-models package with smoothing off) do; it keeps thin parts of small objects.
    """
    n = len(coeffs)
    H, W = geometry.src_h, geometry.src_w
    out = np.zeros((n, H, W), dtype=bool)
    if n == 0:
        return out
    m, ph, pw = protos.shape
    logits = np.asarray(coeffs, dtype=np.float32) @ np.asarray(protos, dtype=np.float32).reshape(m, -1)
    maps = logits.reshape(n, ph, pw)
    x0, y0, x1, y1 = geometry.content_window()
    sx, sy = pw / geometry.net_w, ph / geometry.net_h
    cx0, cy0 = int(round(x0 * sx)), int(round(y0 * sy))
    cx1, cy1 = max(int(round(x1 * sx)), cx0 + 1), max(int(round(y1 * sy)), cy0 + 1)
    maps = maps[:, cy0:cy1, cx0:cx1]
    # A pixel (c, r) is inside box (x0, y0, x1, y1) when x0 <= c < x1 and y0 <= r < y1, i.e.
    # ceil(x0) <= c < ceil(x1): only that window of each resized map is thresholded and copied,
    # which costs the boxes' area rather than n full images.
    win = np.clip(np.ceil(np.asarray(xyxy, dtype=np.float64)), 0, [W, H, W, H]).astype(np.int64)
    for s in range(0, n, _CHUNK):
        chunk = maps[s : s + _CHUNK]
        k = len(chunk)
        big = cv2.resize(np.ascontiguousarray(chunk.transpose(1, 2, 0)), (W, H), interpolation=cv2.INTER_LINEAR)
        big = big.reshape(H, W, k)
        for j, (x0, y0, x1, y1) in enumerate(win[s : s + k].tolist()):
            out[s + j, y0:y1, x0:x1] = big[y0:y1, x0:x1, j] > 0.0
    return out


def mask_to_polygon(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """(k, 2) outline of the mask's contour with the most points; (0, 2) for an empty mask."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros((0, 2))
    best = max(contours, key=len)
    return best.reshape(-1, 2).astype(np.float64)


def polygon_to_mask(points: npt.NDArray[np.floating], width: int, height: int) -> npt.NDArray[np.bool_]:
    mask = np.zeros((height, width), dtype=np.uint8)
    if len(points) >= 3:
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask.astype(bool)
