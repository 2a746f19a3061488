"""The compiled grid outlines (edge/tasks/_outlines.c) against the numpy path: OpenCV's trace,
then edge.tasks.subcell's placement, vertex for vertex; and its refusals of bad arguments."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from edge.tasks import native, subcell
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.mask_modes import GridMasks
from edge.tasks.subcell import GridField
from tests.tasks.kernels import require_native

_RAW = native._NATIVE


@pytest.fixture(autouse=True)
def _built() -> None:
    require_native()


def _smooth(rng: np.random.Generator, h: int, w: int, blobs: int) -> npt.NDArray[np.float32]:
    """A field of ``blobs`` bumps less a level: ragged masks with holes, islands and spurs."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.full((h, w), -0.6)
    for _ in range(blobs):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(1.0, max(h, w) / 3)
        out += rng.uniform(0.5, 1.5) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    return (out + rng.normal(scale=0.15, size=(h, w))).astype(np.float32)


def _checker(rng: np.random.Generator, h: int, w: int, blobs: int) -> npt.NDArray[np.float32]:
    """Cells touching only at corners: every turn of 8-connected tracing."""
    del blobs
    yy, xx = np.mgrid[0:h, 0:w]
    return np.where((xx + yy) % 2 == 0, 1.0, -1.0).astype(np.float32) * rng.uniform(0.5, 2.0, size=(h, w)).astype(
        np.float32
    )


def _rings(rng: np.random.Generator, h: int, w: int, blobs: int) -> npt.NDArray[np.float32]:
    """Concentric rings: islands inside holes, which RETR_EXTERNAL leaves out."""
    del blobs
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.hypot(xx - w / 2 + rng.uniform(-1, 1), yy - h / 2)
    return np.cos(d * rng.uniform(0.8, 1.6)).astype(np.float32)


def _specks(rng: np.random.Generator, h: int, w: int, blobs: int) -> npt.NDArray[np.float32]:
    """Lone cells and pairs: many contours of equal length (which one is longest is OpenCV's choice)."""
    del blobs
    return np.where(rng.random((h, w)) < 0.08, 1.0, -1.0).astype(np.float32)


FIELDS: dict[str, Callable[[np.random.Generator, int, int, int], npt.NDArray[np.float32]]] = {
    "blobs": _smooth,
    "checker": _checker,
    "rings": _rings,
    "specks": _specks,
}


def _grid(kind: str, seed: int, scale: float, n: int = 12) -> GridMasks:
    """n instances on a grid of ``scale``-pixel cells, each field over its window grown by a cell
    (as edge.tasks.mask_modes builds them), boxes cut at fractions of a cell."""
    rng = np.random.default_rng(seed)
    gw, gh = 96, 60
    W, H = round(gw * scale), round(gh * scale)
    wins, grown, boxes, crops, values = [], [], [], [], []
    for _ in range(n):
        w, h = int(rng.integers(1, 40)), int(rng.integers(1, 30))
        x0, y0 = int(rng.integers(0, gw - w + 1)), int(rng.integers(0, gh - h + 1))
        ex0, ey0, ex1, ey1 = max(x0 - 1, 0), max(y0 - 1, 0), min(x0 + w + 1, gw), min(y0 + h + 1, gh)
        field = FIELDS[kind](rng, ey1 - ey0, ex1 - ex0, int(rng.integers(1, 6)))
        wins.append((x0, y0, x0 + w, y0 + h))
        grown.append((ex0, ey0, ex1, ey1))
        px0, py0 = int(np.ceil((x0 - rng.uniform(0, 1)) * W / gw)), int(np.ceil((y0 - rng.uniform(0, 1)) * H / gh))
        boxes.append((max(px0, 0), max(py0, 0), min(round((x0 + w) * W / gw), W), min(round((y0 + h) * H / gh), H)))
        values.append(field)
        crops.append(field[y0 - ey0 : y0 - ey0 + h, x0 - ex0 : x0 - ex0 + w] > 0)
    win = np.array(wins, dtype=np.int64)
    cells = MaskCrops(win, tuple(crops), gw, gh)
    field = GridField.of(values, np.array(grown, dtype=np.int64), np.array(boxes, dtype=np.int64))
    return GridMasks(cells, W, H, field)


def _numpy_polygons(grid: GridMasks, monkeypatch: pytest.MonkeyPatch) -> list[npt.NDArray[np.float64]]:
    with monkeypatch.context() as m:
        m.setattr(native, "_NATIVE", None)
        return grid.polygons()


@pytest.mark.parametrize("kind", list(FIELDS))
@pytest.mark.parametrize("scale", [8.0, 4.0, 3.2, 2.0, 12.0])  # fast at 720p / 4K-ish, tradeoff's finer grids
@pytest.mark.parametrize("seed", range(4))
def test_outlines_are_the_numpy_paths_vertices(
    kind: str, scale: float, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = _grid(kind, seed, scale)
    want = _numpy_polygons(grid, monkeypatch)
    got = grid.polygons()
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float64
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("kind", list(FIELDS))
def test_the_trace_is_opencvs_longest_outer_contour(kind: str) -> None:
    grid = _grid(kind, 7, 8.0, n=30)
    assert grid.field is not None
    _, lengths = native.grid_outlines(
        grid.cells.crops,
        grid.cells.windows,
        (grid.field.flat, grid.field.windows, grid.field.pixel_boxes),
        (8.0, 8.0),
        1,
        (1, 1.5),
        (subcell._NORMAL_X, subcell._NORMAL_Y),
    )
    for crop, n in zip(grid.cells.crops, lengths.tolist()):
        contours, _ = cv2.findContours(crop.view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        assert n == (max(len(c) for c in contours) if contours else 0)


def test_an_empty_or_blank_crop_has_no_outline(monkeypatch: pytest.MonkeyPatch) -> None:
    crops = (np.zeros((0, 3), dtype=bool), np.zeros((4, 5), dtype=bool), np.ones((1, 1), dtype=bool))
    win = np.array([[2, 2, 5, 2], [0, 0, 5, 4], [9, 9, 10, 10]], dtype=np.int64)
    grown = np.array([[1, 1, 6, 3], [0, 0, 6, 5], [8, 8, 11, 11]], dtype=np.int64)
    values = [np.full((2, 5), -1.0, np.float32), np.full((5, 6), -1.0, np.float32), np.ones((3, 3), np.float32)]
    boxes = win * 8
    grid = GridMasks(MaskCrops(win, crops, 20, 20), 160, 160, GridField.of(values, grown, boxes))
    got = grid.polygons()
    assert [len(p) for p in got[:2]] == [0, 0]
    np.testing.assert_array_equal(got[2], _numpy_polygons(grid, monkeypatch)[2])  # the lone cell's square


def _args() -> list[object]:
    crops = [np.ones((2, 3), dtype=bool)]
    win = np.array([[0, 0, 3, 2]], dtype=np.int64)
    fwin = np.array([[0, 0, 4, 3]], dtype=np.int64)
    return [
        crops,
        win,
        np.ones(12, dtype=np.float32),
        fwin,
        np.array([[0, 0, 24, 16]], dtype=np.int64),
        8.0,
        8.0,
        1,
        1,
        1.5,
        subcell._NORMAL_X,
        subcell._NORMAL_Y,
    ]


def _with(i: int, value: object) -> list[object]:
    args = _args()
    args[i] = value
    return args


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (_with(0, [np.ones((3, 3), dtype=bool)]), ValueError),  # the crop is not its window's shape
        (_with(0, [np.ones((2, 6), dtype=bool)[:, ::2]]), ValueError),  # not contiguous
        (_with(0, [np.ones((2, 3), dtype=np.float32)]), TypeError),
        (_with(0, (np.ones((2, 3), dtype=bool),)), TypeError),  # a tuple, not a list
        (_with(1, np.array([[0, 0, 3, 2, 0]], dtype=np.int64)), ValueError),
        (_with(1, np.array([[3, 0, 0, 2]], dtype=np.int64)), ValueError),  # inverted
        (_with(2, np.ones(11, dtype=np.float32)), ValueError),  # the field is short of its windows
        (_with(2, np.ones(12, dtype=np.float64)), TypeError),
        (_with(3, np.array([[0, 0, 0, 3]], dtype=np.int64)), ValueError),  # an empty field window
        (_with(7, 0), ValueError),  # stride
        (_with(5, 0.0), ValueError),  # scale
        (_with(10, subcell._NORMAL_X[:30]), ValueError),
    ],
)
def test_bad_arguments_are_refused(args: list[object], error: type[Exception]) -> None:
    assert _RAW is not None
    with pytest.raises(error):
        _RAW.grid_outlines(*args)
