from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.tasks.resample import interpolate, linear_taps


@pytest.mark.parametrize(
    ("src_hw", "dst_hw"),
    [
        ((120, 160), (480, 640)),
        ((90, 160), (720, 1280)),
        ((90, 160), (1080, 1920)),
        ((37, 53), (101, 211)),
        ((160, 160), (100, 90)),
        ((7, 9), (7, 9)),
        ((1, 5), (3, 12)),
    ],
)
def test_taps_reproduce_cv2_resize(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    src = rng.normal(size=(*src_hw, 5)).astype(np.float32)  # multi-channel: OpenCV's own (non-IPP) path
    ref = cv2.resize(src, dst_hw[::-1], interpolation=cv2.INTER_LINEAR)[:, :, 2]
    rows, cols = linear_taps(src_hw[0], dst_hw[0]), linear_taps(src_hw[1], dst_hw[1])
    got = interpolate(np.ascontiguousarray(src[:, :, 2]), rows, cols)
    assert got.shape == dst_hw and got.dtype == np.float32
    # Same taps and operation order: equal up to the last bit of a fused multiply-add.
    np.testing.assert_allclose(got, ref, rtol=0, atol=4e-7)
    clear = np.abs(ref) > 1e-6
    np.testing.assert_array_equal(got[clear] > 0, ref[clear] > 0)


def test_a_window_equals_that_window_of_the_whole() -> None:
    rng = np.random.default_rng(2)
    src = rng.normal(size=(90, 160)).astype(np.float32)
    rows, cols = linear_taps(90, 720), linear_taps(160, 1280)
    whole = interpolate(src, rows, cols)
    for y0, y1, x0, x1 in [(0, 1, 0, 1), (0, 720, 0, 1280), (333, 401, 1200, 1280), (719, 720, 5, 17)]:
        np.testing.assert_array_equal(interpolate(src, rows.window(y0, y1), cols.window(x0, x1)), whole[y0:y1, x0:x1])
