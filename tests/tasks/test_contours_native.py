"""The compiled trace (edge/tasks/_contours.c) against cv2.findContours: each mask's longest
outer contour, the same points in the same order, for both approximations."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.tasks import native
from tests.tasks.kernels import require_native

_RAW = native._NATIVE


@pytest.fixture(autouse=True)
def _built() -> None:
    require_native()


def _blobs(rng: np.random.Generator, h: int, w: int) -> npt.NDArray[np.bool_]:
    """Smooth bumps less a level, with noise: holes, islands in holes, spurs, ragged edges."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    field = np.full((h, w), -0.6)
    for _ in range(int(rng.integers(1, 7))):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1.0, max(h, w) / 3)
        field += rng.uniform(0.5, 1.5) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    out: npt.NDArray[np.bool_] = field + rng.normal(scale=0.2, size=(h, w)) > 0
    return out


def _masks(kind: str, rng: np.random.Generator) -> list[npt.NDArray[np.bool_]]:
    if kind == "blobs":
        return [_blobs(rng, int(rng.integers(1, 90)), int(rng.integers(1, 120))) for _ in range(20)]
    if kind == "large":  # a frame-size crop: the scan's 8-pixel steps over long runs
        return [_blobs(rng, 700, 1100)]
    if kind == "checker":
        yy, xx = np.mgrid[0:23, 0:37]
        return [(xx + yy) % 2 == 0, (xx // 3 + yy // 2) % 2 == 0]
    if kind == "rings":
        yy, xx = np.mgrid[0:61, 0:80].astype(np.float64)
        return [np.cos(np.hypot(xx - 40, yy - 30) * f) > 0 for f in (0.7, 1.1, 1.9)]
    if kind == "specks":  # many contours of equal length: which one wins is OpenCV's rule
        return [rng.random((30, 50)) < p for p in (0.02, 0.08, 0.3)]
    if kind == "edges":  # one row, one column, one pixel, full, empty, set on the border only
        frame = np.ones((9, 13), dtype=bool)
        frame[1:-1, 1:-1] = False
        return [
            np.ones((1, 17), bool),
            np.ones((17, 1), bool),
            np.ones((1, 1), bool),
            np.ones((6, 9), bool),
            np.zeros((6, 9), bool),
            frame,
        ]
    raise AssertionError(kind)


def _cv2_longest(mask: npt.NDArray[np.bool_], method: int, offset: tuple[int, int]) -> npt.NDArray[np.float64]:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, method, offset=offset)
    if not contours:
        return np.zeros((0, 2))
    return max(contours, key=len).reshape(-1, 2).astype(np.float64)


@pytest.mark.parametrize("kind", ["blobs", "large", "checker", "rings", "specks", "edges"])
@pytest.mark.parametrize("direct", [False, True])
def test_each_masks_longest_contour_is_opencvs(kind: str, direct: bool) -> None:
    rng = np.random.default_rng(len(kind))
    masks = _masks(kind, rng)
    windows = []
    for m in masks:
        x0, y0 = int(rng.integers(0, 500)), int(rng.integers(0, 300))
        windows.append((x0, y0, x0 + m.shape[1], y0 + m.shape[0]))
    win = np.array(windows, dtype=np.int64)
    got = native.longest_contours(tuple(masks), win, direct)
    method = cv2.CHAIN_APPROX_NONE if direct else cv2.CHAIN_APPROX_SIMPLE
    assert len(got) == len(masks)
    for m, (x0, y0, _, _), g in zip(masks, windows, got):
        np.testing.assert_array_equal(g, _cv2_longest(m, method, (x0, y0)))


def test_any_nonzero_byte_of_a_uint8_mask_is_set() -> None:
    rng = np.random.default_rng(3)
    mask = np.where(_blobs(rng, 40, 60), rng.integers(1, 256, (40, 60)), 0).astype(np.uint8)
    win = np.array([[0, 0, 60, 40]], dtype=np.int64)
    got = native.longest_contours((mask,), win, False)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got[0], _cv2_longest(mask > 0, cv2.CHAIN_APPROX_SIMPLE, (0, 0)))


@pytest.mark.parametrize(
    ("crops", "windows", "error"),
    [
        ([np.ones((3, 3), bool)], [[0, 0, 4, 3]], ValueError),  # not the window's shape
        ([np.ones((3, 3), bool)], [[0, 0, 3, 3, 0]], ValueError),  # windows not (n, 4)
        ([np.ones((3, 3), bool)], [[3, 0, 0, 3]], ValueError),  # inverted
        ([np.ones((3, 3), np.float32)], [[0, 0, 3, 3]], TypeError),
        ([np.ones((3, 6), bool)[:, ::2]], [[0, 0, 3, 3]], ValueError),  # not contiguous
        ([np.ones(9, bool)], [[0, 0, 9, 1]], ValueError),  # not 2-D
    ],
)
def test_bad_arguments_are_refused(crops: list[object], windows: list[list[int]], error: type[Exception]) -> None:
    assert _RAW is not None
    with pytest.raises(error):
        _RAW.longest_contours(crops, np.array(windows, dtype=np.int64), False)
