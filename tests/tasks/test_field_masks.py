"""The fast / tradeoff frame masks from their grid field (edge/tasks/field_masks.py and the
kernel's field_rle): the same runs on both paths, the bilinear resize's pixels, and the
kernel's refusals of arguments it cannot read safely."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.tasks import native
from edge.tasks.field_masks import field_crops, field_rle_counts, field_rle_strings
from edge.tasks.rle import encode_crop
from edge.tasks.subcell import GridField
from tests.tasks.kernels import require_native


def _field(rng: np.random.Generator, grid: tuple[int, int], frame: tuple[int, int], n: int, smooth: bool) -> GridField:
    """n instances on a smooth (or white-noise) field: windows anywhere on the grid, some at its
    edges, pixel boxes anywhere in the frame (some empty)."""
    gw, gh = grid
    W, H = frame
    whole = rng.normal(size=(gh, gw)).astype(np.float32)
    if smooth:
        whole = cv2.GaussianBlur(whole, (0, 0), 1.5)
    windows, boxes, values = [], [], []
    for i in range(n):
        x0, y0 = (0, 0) if i == 0 else (int(rng.integers(0, gw)), int(rng.integers(0, gh)))
        x1, y1 = (gw, gh) if i == 0 else (int(rng.integers(x0 + 1, gw + 1)), int(rng.integers(y0 + 1, gh + 1)))
        bx0, by0 = int(x0 * W / gw), int(y0 * H / gh)
        bx1, by1 = min(W, int(np.ceil(x1 * W / gw))), min(H, int(np.ceil(y1 * H / gh)))
        if i == 1:
            bx1 = bx0  # an empty box
        windows.append((x0, y0, x1, y1))
        boxes.append((bx0, by0, bx1, by1))
        values.append(whole[y0:y1, x0:x1] + np.float32(0.3 * (i % 3 - 1)))
    return GridField.of(values, np.array(windows, dtype=np.int64), np.array(boxes, dtype=np.int64))


def _by_pixel(field: GridField, grid: tuple[int, int], frame: tuple[int, int]) -> list[npt.NDArray[np.bool_]]:
    """Every pixel of each box evaluated: the field resized bilinearly (half-pixel centres,
    clamped to the window) and > 0."""
    gw, gh = grid
    W, H = frame
    sizes = field.sizes()
    ends = np.cumsum(sizes)
    out = []
    pairs = zip(field.windows.tolist(), field.pixel_boxes.tolist())
    for i, ((ex0, ey0, ex1, ey1), (x0, y0, x1, y1)) in enumerate(pairs):
        f = field.flat[ends[i] - sizes[i] : ends[i]].reshape(ey1 - ey0, ex1 - ex0).astype(np.float64)
        u = np.clip((np.arange(x0, x1) + 0.5) * (gw / W) - 0.5, ex0, ex1 - 1) - ex0
        t = np.clip((np.arange(y0, y1) + 0.5) * (gh / H) - 0.5, ey0, ey1 - 1) - ey0
        c0, r0 = np.floor(u).astype(int), np.floor(t).astype(int)
        c1, r1 = np.minimum(c0 + 1, ex1 - ex0 - 1), np.minimum(r0 + 1, ey1 - ey0 - 1)
        a, b = u - c0, t - r0
        cols = f[:, c0] * (1 - a) + f[:, c1] * a
        out.append(cols[r0] * (1 - b)[:, None] + cols[r1] * b[:, None] > 0)
    return out


CASES = [  # grid, frame, instances, smooth
    ((160, 90), (1280, 720), 12, True),
    ((160, 120), (997, 611), 9, True),
    ((40, 30), (1920, 1080), 6, False),  # cells of 48 px, a ragged field
    ((9, 8), (4, 3), 5, False),  # more cells than pixels
    ((1, 1), (7, 5), 3, True),  # one cell
]


@pytest.mark.parametrize(("grid", "frame", "n", "smooth"), CASES)
def test_field_masks_are_the_bilinear_resize_above_zero(
    grid: tuple[int, int], frame: tuple[int, int], n: int, smooth: bool
) -> None:
    field = _field(np.random.default_rng(grid[0] + frame[0]), grid, frame, n, smooth)
    crops = field_crops(field, grid, frame)
    wrong = total = 0
    for got, want in zip(crops.crops, _by_pixel(field, grid, frame)):
        assert got.shape == want.shape
        wrong += int((got != want).sum())
        total += want.size
    # The rows are solved for, not evaluated: a pixel on the zero itself may fall either way.
    assert wrong <= max(2, total // 10_000), (wrong, total)


@pytest.mark.parametrize(("grid", "frame", "n", "smooth"), CASES)
def test_field_rle_is_the_rle_of_its_crops_on_both_paths(
    grid: tuple[int, int], frame: tuple[int, int], n: int, smooth: bool
) -> None:
    require_native()
    field = _field(np.random.default_rng(grid[1] + frame[1]), grid, frame, n, smooth)
    crops = field_crops(field, grid, frame)
    strings = field_rle_strings(field, grid, frame)
    assert native.field_rle(field.flat, field.windows, field.pixel_boxes, grid, frame) == strings
    for counts, text, (x0, y0, _, _), crop in zip(
        field_rle_counts(field, grid, frame), strings, crops.windows.tolist(), crops.crops
    ):
        want = encode_crop(crop, x0, y0, *frame)
        np.testing.assert_array_equal(counts, want.counts)
        assert text == want.to_v1()["counts"]


def test_a_field_wholly_inside_fills_its_box_and_one_wholly_outside_is_empty() -> None:
    windows = np.array([[2, 2, 6, 6], [0, 0, 3, 3]], dtype=np.int64)
    boxes = np.array([[20, 25, 50, 58], [0, 0, 30, 30]], dtype=np.int64)
    field = GridField.of([np.ones((4, 4), np.float32), -np.ones((3, 3), np.float32)], windows, boxes)
    crops = field_crops(field, (10, 10), (100, 100))
    assert crops.crops[0].shape == (33, 30) and crops.crops[0].all()
    assert not crops.crops[1].any()
    assert field_rle_counts(field, (10, 10), (100, 100))[1].tolist() == [100 * 100]


def _args() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    return np.zeros(4, np.float32), np.array([[0, 0, 2, 2]], np.int64), np.array([[0, 0, 5, 5]], np.int64)


@pytest.mark.parametrize(
    ("name", "spoil", "error"),
    [
        ("flat too short", lambda f, w, b: (f[:3], w, b), ValueError),
        ("past the grid", lambda f, w, b: (np.zeros(9, np.float32), w + np.array([0, 0, 1, 1]), b), ValueError),
        ("empty window", lambda f, w, b: (np.zeros(0, np.float32), w * np.array([1, 1, 0, 0]), b), ValueError),
        ("box outside the frame", lambda f, w, b: (f, w, b + np.array([0, 0, 20, 0])), ValueError),
        ("inverted box", lambda f, w, b: (f, w, b[:, [2, 1, 0, 3]]), ValueError),
        ("boxes not one per window", lambda f, w, b: (f, w, np.zeros((2, 4), np.int64)), ValueError),
        ("float64 field", lambda f, w, b: (f.astype(np.float64), w, b), TypeError),
    ],
)
def test_field_rle_refuses_what_it_cannot_read(name: str, spoil, error: type[Exception]) -> None:  # type: ignore[no-untyped-def]
    require_native()
    from edge.tasks import _native

    flat, windows, boxes = spoil(*_args())
    with pytest.raises(error):
        _native.field_rle(flat, windows, boxes, 2, 2, 10, 10)
