"""The compiled kernels (``edge/tasks/_native.c`` and its neighbours) where the install built them.

Each gives what the numpy / OpenCV path it stands in for gives, bit for bit, at a fraction of
the CPU (docs/masks.md):

* :func:`above`: :func:`edge.tasks.resample.interpolate_above` in one pass, the same float32
  operations in the same order;
* :func:`points_json`, :func:`crop_rle`, :func:`grid_rle`, :func:`field_rle`: an outline's JSON
  and the COCO RLE strings of accurate crops, of grid cells and of grid fields, the bytes :mod:`edge.tasks.points`,
  :mod:`edge.tasks.rle` and :mod:`edge.tasks.mask_modes` write;
* :func:`longest_contours`: each mask's longest outer contour, the points ``cv2.findContours``
  gives;
* :func:`grid_outlines`: the ``fast`` / ``tradeoff`` outlines, traced and placed as
  :mod:`edge.tasks.subcell` places them;
* :func:`nms_ranked`: the greedy walk of :func:`edge.tasks.boxes.nms`.

setup.py builds the module as an optional extension; without a C compiler or Python headers
the install goes on, :func:`available` is False and those modules take their numpy path.
``EDGE_NATIVE=0`` in the environment turns it off (to compare the two paths).
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np
import numpy.typing as npt

from edge.tasks.resample import AxisTaps


def _load() -> ModuleType | None:
    if os.environ.get("EDGE_NATIVE", "1") == "0":
        return None
    try:
        from edge.tasks import _native
    except ImportError:
        return None
    return _native


_NATIVE = _load()


def available() -> bool:
    """Whether the compiled kernel is in use."""
    return _NATIVE is not None


def above(
    values: npt.NDArray[np.float32],
    origin: tuple[int, int],
    rows: AxisTaps,
    cols: AxisTaps,
    window: tuple[int, int, int, int],
    threshold: float,
) -> npt.NDArray[np.bool_]:
    """``interpolate(map, rows, cols)[y0:y1, x0:x1] > threshold`` for ``window = (y0, y1, x0,
    x1)``, with ``rows``, ``cols`` the whole map's taps and ``values`` (C-contiguous float32)
    holding the map's cells from ``origin = (row0, col0)`` on. Only call when :func:`available`."""
    assert _NATIVE is not None
    y0, y1, x0, x1 = window
    out = np.empty((y1 - y0, x1 - x0), dtype=np.bool_)
    _NATIVE.above(values, origin[0], origin[1], _taps(rows), _taps(cols), window, threshold, out)
    return out


def crop_rle(crop: npt.NDArray[np.bool_], x0: int, y0: int, width: int, height: int) -> str:
    """The compressed COCO RLE counts of a ``width`` x ``height`` frame that is ``crop`` at
    (x0, y0) and 0 elsewhere (what :func:`edge.tasks.rle.counts_to_string` writes for
    :func:`edge.tasks.rle.encode_crop`'s counts). Only call when :func:`available`."""
    assert _NATIVE is not None
    text: str = _NATIVE.crop_rle(np.ascontiguousarray(crop), x0, y0, width, height)
    return text


def longest_contours(
    crops: tuple[npt.NDArray[np.bool_], ...], windows: npt.NDArray[np.int64], direct: bool
) -> list[npt.NDArray[np.float64]]:
    """Each crop's longest outer contour, shifted to its window's corner: what
    :func:`edge.tasks.mask_crops.mask_to_polygon` gives (``CHAIN_APPROX_SIMPLE``), or with
    ``direct`` every boundary pixel (``CHAIN_APPROX_NONE``). Only call when :func:`available`."""
    assert _NATIVE is not None
    points, counts = _NATIVE.longest_contours(list(crops), windows, direct)
    return _split(points, counts)


def _split(points: bytes, counts: bytes) -> list[npt.NDArray[np.float64]]:
    """(x, y) float64 pairs cut into outlines of ``counts`` vertices each (views)."""
    xy = np.frombuffer(points, dtype=np.float64).reshape(-1, 2)
    ends = np.cumsum(np.frombuffer(counts, dtype=np.int64)).tolist()
    return [xy[a:b] for a, b in zip([0, *ends[:-1]], ends)]  # np.split costs more


def grid_outlines(
    crops: tuple[npt.NDArray[np.bool_], ...],
    windows: npt.NDArray[np.int64],
    field: tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64]],
    scale: tuple[float, float],
    stride: int,
    newton: tuple[int, float],
    normals: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]],
) -> tuple[list[npt.NDArray[np.float64]], npt.NDArray[np.int64]]:
    """Each crop's outline as :func:`edge.tasks.subcell.subcell_outlines` places its
    :func:`~edge.tasks.subcell.trace_cells` contour, and each contour's length; an instance
    whose contour has 1 or 2 cells gets an empty outline (the caller squares those).
    ``field`` is (values, windows, pixel boxes) of a :class:`~edge.tasks.subcell.GridField`,
    ``scale`` frame pixels per cell, ``newton`` (steps, reach). Only call when :func:`available`."""
    assert _NATIVE is not None
    flat, field_windows, boxes = field
    points, counts, traced = _NATIVE.grid_outlines(
        list(crops), windows, flat, field_windows, boxes, scale[0], scale[1], stride, newton[0], newton[1], *normals
    )
    return _split(points, counts), np.frombuffer(traced, dtype=np.int64)


def nms_ranked(boxes: npt.NDArray[np.float64], iou: float, max_keep: int) -> npt.NDArray[np.int64]:
    """The ranks kept by greedy NMS of (k, 4) xyxy ``boxes`` ranked best first (suppress IoU >
    ``iou``, at most ``max_keep``): what :func:`edge.tasks.boxes.nms` keeps. Only call when
    :func:`available`."""
    assert _NATIVE is not None
    ranks = _NATIVE.nms_ranked(np.ascontiguousarray(boxes, dtype=np.float64), float(iou), max_keep)
    return np.frombuffer(ranks, dtype=np.int64)


def grid_rle(
    crops: tuple[npt.NDArray[np.bool_], ...],
    windows: npt.NDArray[np.int64],
    col_cell: npt.NDArray[np.int64],
    row_cell: npt.NDArray[np.int64],
) -> list[str]:
    """The COCO RLE string of each grid mask at frame resolution, where frame pixel (x, y) takes
    cell (``col_cell[x]``, ``row_cell[y]``): what :meth:`edge.tasks.mask_modes.GridMasks.rle_counts`
    gives, as strings. Only call when :func:`available`."""
    assert _NATIVE is not None
    strings: list[str] = _NATIVE.grid_rle(list(crops), windows, col_cell, row_cell)
    return strings


def field_rle(
    flat: npt.NDArray[np.float32],
    windows: npt.NDArray[np.int64],
    pixel_boxes: npt.NDArray[np.int64],
    grid: tuple[int, int],
    frame: tuple[int, int],
) -> list[str]:
    """The COCO RLE string of each fast / tradeoff mask from its field, what
    :func:`edge.tasks.field_masks.field_rle_strings` gives. Only call when :func:`available`."""
    assert _NATIVE is not None
    strings: list[str] = _NATIVE.field_rle(
        np.ascontiguousarray(flat, dtype=np.float32),
        np.ascontiguousarray(windows, dtype=np.int64),
        np.ascontiguousarray(pixel_boxes, dtype=np.int64),
        grid[0],
        grid[1],
        frame[0],
        frame[1],
    )
    return strings


def points_json(xy: npt.NDArray[np.float64]) -> bytes | None:
    """The JSON of the (k, 2) vertices' ``{"x", "y"}`` dicts as orjson writes it, when every
    coordinate is a whole number in [0, 2**31); None otherwise (or without the kernel)."""
    if _NATIVE is None:
        return None
    data: bytes | None = _NATIVE.points_json(np.ascontiguousarray(xy, dtype=np.float64))
    return data


def _taps(
    t: AxisTaps,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    return t.lo, t.hi, t.w0, t.w1
