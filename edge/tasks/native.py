"""The compiled kernels (``edge/tasks/_native.c``) where the install built them.

:func:`above` is :func:`edge.tasks.resample.interpolate_above` in one pass: the same float32
operations in the same order, so the same bits, at a fraction of the CPU (docs/masks.md);
:func:`points_json` and :func:`crop_rle` write an outline's JSON and a crop's COCO RLE string,
the same bytes as :mod:`edge.tasks.points` and :mod:`edge.tasks.rle` write; :func:`grid_outlines`
traces and places the ``fast`` / ``tradeoff`` outlines, the same vertices as
:mod:`edge.tasks.subcell`; :func:`nms_ranked` is :func:`edge.tasks.boxes.nms`'s greedy walk. setup.py builds the
module as an optional extension; without a C compiler or Python headers the install goes on,
:func:`available` is False and those modules take their numpy path. ``EDGE_NATIVE=0`` in the
environment turns it off (to compare the two paths).
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
    xy = np.frombuffer(points, dtype=np.float64).reshape(-1, 2)
    ends = np.cumsum(np.frombuffer(counts, dtype=np.int64)).tolist()
    outlines = [xy[a:b] for a, b in zip([0, *ends[:-1]], ends)]  # views: np.split costs more
    return outlines, np.frombuffer(traced, dtype=np.int64)


def nms_ranked(boxes: npt.NDArray[np.float64], iou: float, max_keep: int) -> npt.NDArray[np.int64]:
    """The ranks kept by greedy NMS of (k, 4) xyxy ``boxes`` ranked best first (suppress IoU >
    ``iou``, at most ``max_keep``): what :func:`edge.tasks.boxes.nms` keeps. Only call when
    :func:`available`."""
    assert _NATIVE is not None
    ranks = _NATIVE.nms_ranked(np.ascontiguousarray(boxes, dtype=np.float64), float(iou), max_keep)
    return np.frombuffer(ranks, dtype=np.int64)


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
