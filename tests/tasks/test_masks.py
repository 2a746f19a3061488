from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.preprocess import PreprocessConfig, ResizeMode, plan_geometry
from edge.tasks.masks import masks_from_protos


def _reference(coeffs: npt.NDArray[np.float32], protos: npt.NDArray[np.float32], g, xyxy) -> npt.NDArray[np.bool_]:
    """The definition, spelled out: full-image logits, thresholded, times a box indicator."""
    m, ph, pw = protos.shape
    maps = (coeffs @ protos.reshape(m, -1)).reshape(-1, ph, pw)
    x0, y0, x1, y1 = g.content_window()
    sx, sy = pw / g.net_w, ph / g.net_h
    cx0, cy0 = int(round(x0 * sx)), int(round(y0 * sy))
    cx1, cy1 = max(int(round(x1 * sx)), cx0 + 1), max(int(round(y1 * sy)), cy0 + 1)
    out = []
    rows, cols = np.mgrid[0 : g.src_h, 0 : g.src_w]
    for mp, (bx0, by0, bx1, by1) in zip(maps[:, cy0:cy1, cx0:cx1], xyxy):
        big = cv2.resize(np.ascontiguousarray(mp), (g.src_w, g.src_h), interpolation=cv2.INTER_LINEAR)
        inside = (cols >= bx0) & (cols < bx1) & (rows >= by0) & (rows < by1)
        out.append((big > 0) & inside)
    return np.array(out, dtype=bool).reshape(len(xyxy), g.src_h, g.src_w)


@pytest.mark.parametrize(
    ("src", "mode", "boxes"),
    [
        ((120, 90), ResizeMode.LETTERBOX, [[10.2, 5.7, 60.0, 44.5], [0.0, 0.0, 120.0, 90.0]]),
        ((90, 120), ResizeMode.LETTERBOX, [[-15.0, -3.0, 30.0, 200.0]]),  # reaches past the image
        ((64, 64), ResizeMode.STRETCH, [[10.0, 10.0, 10.0, 20.0], [5.5, 5.5, 6.5, 6.5]]),  # empty, one pixel
        ((100, 80), ResizeMode.LETTERBOX, []),
    ],
)
def test_masks_equal_the_full_image_definition(src: tuple[int, int], mode: ResizeMode, boxes) -> None:
    rng = np.random.default_rng(3)
    g = plan_geometry(src[0], src[1], PreprocessConfig(64, 64, mode))
    coeffs = rng.normal(size=(len(boxes), 8)).astype(np.float32)
    protos = rng.normal(size=(8, 16, 16)).astype(np.float32)
    xyxy = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    got = masks_from_protos(coeffs, protos, g, xyxy)
    assert got.shape == (len(boxes), src[1], src[0])
    np.testing.assert_array_equal(got, _reference(coeffs, protos, g, xyxy))
