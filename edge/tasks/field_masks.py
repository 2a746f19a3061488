"""The frame-resolution masks of ``fast`` and ``tradeoff``: where the grid's field, resized
bilinearly to the frame, is above zero, found column by column without making the pixels.

``accurate`` resizes each instance's field (its logits, or its sigmoid less 0.5) to the frame
and keeps the pixels above zero. ``fast``'s grid is that same field's cells (the prototype map
over the image content), so resizing its field the same way gives accurate's mask again; a
``tradeoff`` grid is a finer resize of it, so close to it. Evaluating every pixel would cost
what accurate costs. But a bilinear resize is linear in y between two cell-centre rows once a
frame column's values are interpolated in x: so per frame column, the field is interpolated at
the cell rows only (a box's few dozen cells, not its hundreds of pixels), and the rows where
it changes sign are solved for, one per sign change between neighbouring cell rows. Those rows
are the mask's runs down the column, which is what COCO RLE (column-major) carries, so the
string is written from them directly (:func:`field_rle_strings`, or the compiled kernel's
``field_rle``) and the pixels are made only when something reads them (:func:`field_crops`).

The rule, written the same way here and in ``edge/tasks/_rle.c`` (the same float64
operations in the same order, so the same runs): frame column ``x`` reads grid column
``u = clip((x + 0.5) * (grid_w / W) - 0.5, x0, x1 - 1)`` of the field's window (cv2's
half-pixel centres, clamped to the cells known), ``v[k] = f[k, c0] * (1 - a) + f[k, c1] * a``
with ``c0 = floor(u)``, ``a = u - c0``, ``c1 = min(c0 + 1, x1 - 1)``. Between window rows ``k``
and ``k + 1`` with ``v`` of different signs (> 0 is inside), the zero lies at grid row
``t = (y0 + k) + v[k] / (v[k] - v[k + 1])``, frame row ``Y = (t + 0.5) * (H / grid_h) - 0.5``;
the first frame row of the new state is ``ceil(Y)`` leaving the mask, ``floor(Y) + 1``
entering it. Above the first and below the last cell row the field is constant (clamped, as
cv2 clamps). The mask is then cut to the box's pixels (``pixel_boxes``, accurate's crop).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge.tasks.mask_crops import MaskCrops
from edge.tasks.rle import counts_from_bounds_many, counts_to_strings
from edge.tasks.subcell import GridField


def _column_flips(
    field: GridField, i: int, values: npt.NDArray[np.float32], grid: tuple[int, int], frame: tuple[int, int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Instance ``i``'s flips: (frame column, frame row) of every change of state down each
    column of its box, the box's top row where a column starts inside and its bottom where it
    ends inside (so a run is [flip, next flip) and the state at a row is the parity of the
    flips at or above it)."""
    gw, gh = grid
    W, H = frame
    ex0, ey0, ex1, _ = field.windows[i].tolist()
    px0, py0, px1, py1 = field.pixel_boxes[i].tolist()
    if px1 <= px0 or py1 <= py0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    xs = np.arange(px0, px1, dtype=np.int64)
    u = np.minimum(np.maximum((xs + 0.5) * (gw / W) - 0.5, float(ex0)), float(ex1 - 1))
    c0 = np.floor(u)
    a = u - c0
    i0 = c0.astype(np.int64) - ex0
    i1 = np.minimum(i0 + 1, ex1 - 1 - ex0)
    f = values.astype(np.float64)
    v = f[:, i0] * (1.0 - a) + f[:, i1] * a  # (window rows, columns)
    inside = v > 0.0
    k, col = np.nonzero(inside[:-1] != inside[1:])
    vk, vk1 = v[k, col], v[k + 1, col]
    t = (ey0 + k) + vk / (vk - vk1)
    y = (t + 0.5) * (H / gh) - 0.5
    rows = np.where(vk > 0.0, np.ceil(y), np.floor(y) + 1.0)
    rows = np.minimum(np.maximum(rows, float(py0)), float(py1)).astype(np.int64)
    starts, ends = np.flatnonzero(inside[0]), np.flatnonzero(inside[-1])
    cols = np.concatenate([starts, col, ends])
    at = np.concatenate([np.full(len(starts), py0), rows, np.full(len(ends), py1)]).astype(np.int64)
    return xs[cols], at


def _all_flips(
    field: GridField, grid: tuple[int, int], frame: tuple[int, int]
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    sizes = field.sizes()
    ends = np.cumsum(sizes)
    out = []
    for i, (x0, y0, x1, y1) in enumerate(field.windows.tolist()):
        values = field.flat[ends[i] - sizes[i] : ends[i]].reshape(y1 - y0, x1 - x0)
        out.append(_column_flips(field, i, values, grid, frame))
    return out


def field_rle_counts(field: GridField, grid: tuple[int, int], frame: tuple[int, int]) -> list[npt.NDArray[np.int64]]:
    """Each instance's COCO RLE counts of its field mask over a ``frame`` = (W, H) frame;
    ``grid`` = (grid_w, grid_h)."""
    W, H = frame
    n = len(field.windows)
    flips = _all_flips(field, grid, frame)
    if not any(len(x) for x, _ in flips):
        return [np.array([W * H], dtype=np.int64) for _ in range(n)]
    bounds = np.concatenate([x * H + y for x, y in flips])
    owner = np.concatenate([np.full(len(x), i, dtype=np.int64) for i, (x, _) in enumerate(flips)])
    return counts_from_bounds_many(bounds, owner, n, W, H)


def field_rle_strings(field: GridField, grid: tuple[int, int], frame: tuple[int, int]) -> list[str]:
    """:func:`field_rle_counts` written as pycocotools writes them (the numpy path)."""
    return counts_to_strings(field_rle_counts(field, grid, frame))


def field_crops(field: GridField, grid: tuple[int, int], frame: tuple[int, int]) -> MaskCrops:
    """The field masks as box-local crops (windows: the box's pixels)."""
    W, H = frame
    crops: list[npt.NDArray[np.bool_]] = []
    boxes = field.pixel_boxes.astype(np.int64)
    for (x0, y0, x1, y1), (xs, ys) in zip(boxes.tolist(), _all_flips(field, grid, frame)):
        w, h = max(0, x1 - x0), max(0, y1 - y0)
        toggles = np.zeros((w, h + 1), dtype=np.int8)
        np.add.at(toggles, (xs - x0, ys - y0), 1)
        crops.append(np.ascontiguousarray((np.cumsum(toggles, axis=1)[:, :h] % 2).astype(bool).T))
    return MaskCrops(boxes, tuple(crops), W, H)
