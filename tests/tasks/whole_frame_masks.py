"""The whole-frame mask construction edge used before masks became box-local (commit f42c25e).

Kept verbatim as the reference the box-local crops must reproduce: every instance's logits
resized to the full frame at once (cv2, 128 channels per call), then cut to the box.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from edge.preprocess import Geometry

_CHUNK = 128


def whole_frame_masks(
    coeffs: npt.NDArray[np.floating],
    protos: npt.NDArray[np.floating],
    geometry: Geometry,
    xyxy: npt.NDArray[np.floating],
) -> npt.NDArray[np.bool_]:
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
    win = np.clip(np.ceil(np.asarray(xyxy, dtype=np.float64)), 0, [W, H, W, H]).astype(np.int64)
    for s in range(0, n, _CHUNK):
        chunk = maps[s : s + _CHUNK]
        k = len(chunk)
        big = cv2.resize(np.ascontiguousarray(chunk.transpose(1, 2, 0)), (W, H), interpolation=cv2.INTER_LINEAR)
        big = big.reshape(H, W, k)
        for j, (bx0, by0, bx1, by1) in enumerate(win[s : s + k].tolist()):
            out[s + j, by0:by1, bx0:bx1] = big[by0:by1, bx0:bx1, j] > 0.0
    return out
