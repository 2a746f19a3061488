"""Coarse-grid outlines placed where the field crosses zero (edge/tasks/subcell.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from edge.errors import EdgeError
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.mask_modes import GridMasks
from edge.tasks.subcell import GridField
from tests.tasks.kernels import kernel  # noqa: F401  (autouse: each test on both paths)

GRID, SCALE = 40, 8  # a 40 x 40 grid of 8-pixel cells: fast mode's grid on a 320 px frame


def _disc_field(cx: float, cy: float, r: float) -> npt.NDArray[np.float32]:
    """Cell-centre values of ``r - distance`` in frame pixels: a disc's signed distance."""
    centres = (np.arange(GRID) + 0.5) * SCALE - 0.5
    d = np.hypot(centres[None, :] - cx, centres[:, None] - cy)
    out: npt.NDArray[np.float32] = (r - d).astype(np.float32)
    return out


def _grid(values: npt.NDArray[np.float32], box_px: tuple[int, int, int, int], with_field: bool = True) -> GridMasks:
    """One instance over the whole grid, cut to ``box_px`` (frame pixels, x0, y0, x1, y1)."""
    W = GRID * SCALE
    cells_box = np.ceil(np.array(box_px) / SCALE).astype(np.int64)
    x0, y0, x1, y1 = cells_box.tolist()
    crop = values[y0:y1, x0:x1] > 0
    cells = MaskCrops(cells_box[None], (crop,), GRID, GRID)
    gx0, gy0, gx1, gy1 = max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 1, GRID), min(y1 + 1, GRID)
    field = GridField.of([values[gy0:gy1, gx0:gx1]], np.array([[gx0, gy0, gx1, gy1]]), np.array([box_px]))
    return GridMasks(cells, W, W, field if with_field else None)


def _iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize(("cx", "cy", "r"), [(160.0, 160.0, 90.0), (131.3, 170.9, 57.5), (200.0, 120.0, 33.0)])
def test_an_outline_between_cells_follows_the_field_closer_than_the_cells(cx: float, cy: float, r: float) -> None:
    W = GRID * SCALE
    values = _disc_field(cx, cy, r)
    yy, xx = np.mgrid[0:W, 0:W]
    truth = np.hypot(xx - cx, yy - cy) < r
    box = (0, 0, W, W)
    refined = MaskCrops.from_polygons(_grid(values, box).polygons(), W, W).full()[0]
    stairs = MaskCrops.from_polygons(_grid(values, box, with_field=False).polygons(), W, W).full()[0]
    assert _iou(refined, truth) >= 0.97
    assert _iou(refined, truth) > _iou(stairs, truth)


def test_where_the_box_cuts_the_mask_the_outline_is_the_box() -> None:
    values = np.full((GRID, GRID), 5.0, dtype=np.float32)  # inside everywhere: only the box ends it
    box = (43, 61, 203, 150)
    poly = _grid(values, box).polygons()[0]
    xs, ys = poly[:, 0], poly[:, 1]
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (43, 61, 202, 149)
    fill = MaskCrops.from_polygons([poly], GRID * SCALE, GRID * SCALE).full()[0]
    expected = np.zeros_like(fill)
    expected[61:150, 43:203] = True
    np.testing.assert_array_equal(fill, expected)


def test_vertices_are_whole_pixels_inside_the_box_and_frame() -> None:
    rng = np.random.default_rng(3)
    values = (rng.normal(size=(GRID, GRID)) + 0.4).astype(np.float32)  # ragged, many parts
    box = (17, 9, 301, 260)
    poly = _grid(values, box).polygons()[0]
    assert len(poly) >= 4
    np.testing.assert_array_equal(poly, np.rint(poly))
    assert poly[:, 0].min() >= 17 and poly[:, 0].max() <= 300
    assert poly[:, 1].min() >= 9 and poly[:, 1].max() <= 259
    assert not (np.diff(poly, axis=0) == 0).all(axis=1).any()  # no vertex repeated


def test_a_field_that_does_not_fit_its_window_is_refused() -> None:
    with pytest.raises(EdgeError, match="must be 3x4"):
        GridField.of([np.zeros((4, 4), dtype=np.float32)], np.array([[0, 0, 4, 3]]), np.array([[0, 0, 8, 8]]))
    with pytest.raises(EdgeError, match="needs as many values"):
        GridField(np.zeros(5, dtype=np.float32), np.array([[0, 0, 4, 3]]), np.array([[0, 0, 8, 8]]))
