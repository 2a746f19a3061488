"""A window of a whole-map cv2.resize, made by resizing only the cells under it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.tasks.resample import interpolate, linear_taps
from edge.tasks.window_resize import MAX_BLOCK, Window, plan_axis, window_above

# (cells, pixels) per axis: the scales a 640 model's 160 prototypes meet on real cameras.
SCALES = [
    ((90, 160), (720, 1280)),  # 1280x720: 8 pixels a cell
    ((120, 160), (480, 640)),  # 640x480: 4
    ((90, 160), (1080, 1920)),  # 1920x1080: 12
    ((112, 160), (700, 1000)),  # 1000x700: 6.25 = 25/4
    ((120, 160), (1944, 2592)),  # 2592x1944: 81/5
]


@pytest.mark.parametrize(("cells", "pixels"), SCALES)
def test_every_window_matches_the_whole_map_resize(cells: tuple[int, int], pixels: tuple[int, int]) -> None:
    rng = np.random.default_rng(11)
    src = rng.normal(size=cells).astype(np.float32)
    (ch, cw), (H, W) = cells, pixels
    rows, cols = linear_taps(ch, H), linear_taps(cw, W)
    ay, ax = plan_axis(ch, H, rows), plan_axis(cw, W, cols)
    assert ay is not None and ax is not None
    whole = interpolate(src, rows, cols)  # the whole map, numpy taps (cv2's positions)
    # windows at the corners, along the edges and inside, down to one pixel
    starts = [(0, 0), (H - 7, W - 5), (0, W // 2), (H // 3, 0), (H // 2, W // 3)]
    for (y0, x0), (h, w) in zip(starts, [(40, 33), (7, 5), (1, 1), (90, 200), (233, 207)]):
        y1, x1 = min(H, y0 + h), min(W, x0 + w)
        (r0, r1), (c0, c1) = ay.cells(y0, y1), ax.cells(x0, x1)
        assert r0 % ay.q == 0 and c0 % ax.q == 0 and r0 <= rows.lo[y0] and c0 <= cols.lo[x0]
        (oy, oy1), (ox, ox1) = ay.pixels(r0, r1), ax.pixels(c0, c1)
        out = cv2.resize(src[r0:r1, c0:c1], (ox1 - ox, oy1 - oy), interpolation=cv2.INTER_LINEAR)
        got = out[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
        want = whole[y0:y1, x0:x1]
        assert got.shape == want.shape
        # The same taps: equal up to float rounding of positions (exact for powers of two).
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


@pytest.mark.parametrize(("cells", "pixels"), SCALES)
@pytest.mark.parametrize("threshold", [0.0, 0.5])
def test_thresholded_windows_are_the_numpy_taps_bit_for_bit(
    cells: tuple[int, int], pixels: tuple[int, int], threshold: float
) -> None:
    rng = np.random.default_rng(5)
    (ch, cw), (H, W) = cells, pixels
    # Smooth maps (as prototypes give) crossing the threshold often, many pixels near it.
    src = cv2.resize(rng.normal(size=(ch // 6 + 2, cw // 6 + 2)).astype(np.float32), (cw, ch))
    if threshold:
        src = (1.0 / (1.0 + np.exp(-4 * src))).astype(np.float32)
    rows, cols = linear_taps(ch, H), linear_taps(cw, W)
    ay, ax = plan_axis(ch, H, rows), plan_axis(cw, W, cols)
    assert ay is not None and ax is not None
    whole = interpolate(src, rows, cols) > np.float32(threshold)
    for _ in range(25):
        y0, x0 = int(rng.integers(0, H - 1)), int(rng.integers(0, W - 1))
        y1, x1 = min(H, y0 + int(rng.integers(1, 300))), min(W, x0 + int(rng.integers(1, 300)))
        (r0, r1), (c0, c1) = ay.cells(y0, y1), ax.cells(x0, x1)
        got = window_above(src[r0:r1, c0:c1], ay, ax, Window(y0, y1, x0, x1, r0, c0), threshold)
        np.testing.assert_array_equal(got, whole[y0:y1, x0:x1])


@pytest.mark.parametrize(
    ("cells", "pixels", "aligned"),
    [(160, 1280, True), (160, 1000, True), (160, 997, False), (90, 611, False), (MAX_BLOCK + 1, 64, False)],
)
def test_only_small_blocks_are_planned(cells: int, pixels: int, aligned: bool) -> None:
    assert (plan_axis(cells, pixels, linear_taps(cells, pixels)) is not None) is aligned
