"""Outlines of coarse-grid masks placed between the cells, where the mask's field crosses zero.

``fast`` and ``tradeoff`` threshold each instance's field (its logits, or its sigmoid less
0.5) on a grid of cells 2-8 frame pixels wide. The cells' own contour is a staircase through
the boundary cells' centres: at 8 pixels a cell that costs about 0.13 of IoU against
``accurate`` on a large, ragged mask (issue 18). The field says more than its signs: the edge
of ``accurate``'s mask is where the bilinearly resized field crosses zero, which lies between
a boundary cell and its outside neighbour in proportion to their values. So every vertex of
the cell contour (all of them, ``CHAIN_APPROX_NONE``: a 45-degree run compressed to its ends
would cut a round mask's chords) is moved along the contour's outward normal to the zero of
the field's bilinear interpolant, by a Newton step from the cells' edge, all vertices of a
frame at once; then half a frame pixel back in, so the outline runs through the boundary
pixels' centres as an ``accurate`` outline does. Vertices are rounded to whole pixels (a cell
is 2-8 of them, so no precision worth sending is lost, and whole numbers go to JSON from a
table), and of a straight run only the ends are kept.

Where the contour runs along the cut of its box (the field is still positive past it), the
edge is the box's, not the field's: such a vertex goes onto the box's last pixel on that
axis. Every vertex is kept inside the box's pixels, which ``accurate``'s crop also keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.tasks import native
from edge.tasks.mask_crops import MaskCrops

# One step from the cells' edge lands as close as three on the large crowd (issue 18's clip).
_NEWTON_STEPS = 1
# The zero lies within a cell of a boundary cell's centre (its outside neighbour is <= 0);
# further out, a flat field has thrown the step, and the cell's own edge is the best guess.
_MAX_REACH = 1.5
# Outline vertices at least this many frame pixels apart along a straight run: fast's 8-pixel
# cells keep every cell; tradeoff's 2-4 pixel ones every 2nd or 3rd (and every turn).
_SPACING_PX = 6.0


@dataclass(frozen=True)
class GridField:
    """What a :class:`~edge.tasks.mask_modes.GridMasks`' cells were thresholded from.

    Instance i's field less its threshold (> 0 inside) covers the cells ``windows[i]`` (x0,
    y0, x1, y1): its mask's window grown by a cell where the grid allows, so the field is
    known one cell past the box's cut. All of them lie in ``flat``, one after another, each
    row-major: the outlines read every instance's field at once. ``pixel_boxes[i]`` is the
    box's frame-pixel window (pixel c is in when x0 <= c < x1), as ``accurate`` crops.
    """

    flat: npt.NDArray[np.float32]
    windows: npt.NDArray[np.int64]
    pixel_boxes: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        n = len(self.windows)
        if self.windows.shape != (n, 4) or self.pixel_boxes.shape != (n, 4):
            raise EdgeError(
                "a grid field needs (n, 4) windows and pixel boxes, "
                f"got {self.windows.shape} and {self.pixel_boxes.shape}"
            )
        if self.flat.ndim != 1 or len(self.flat) != int(self.sizes().sum()):
            raise EdgeError(
                f"a grid field over {int(self.sizes().sum())} cells needs as many values, got {self.flat.shape}"
            )

    @classmethod
    def of(
        cls, values: list[npt.NDArray[np.float32]], windows: npt.NDArray[np.int64], pixel_boxes: npt.NDArray[np.int64]
    ) -> GridField:
        """A field from one array per instance, each the shape of its window."""
        for v, (x0, y0, x1, y1) in zip(values, windows.tolist()):
            if v.shape != (y1 - y0, x1 - x0):
                raise EdgeError(f"a field over cells {x0},{y0}-{x1},{y1} must be {y1 - y0}x{x1 - x0}, got {v.shape}")
        flat = np.concatenate([v.ravel() for v in values]) if values else np.zeros(0)
        return cls(flat.astype(np.float32), windows, pixel_boxes)

    def sizes(self) -> npt.NDArray[np.int64]:
        w = self.windows
        sizes: npt.NDArray[np.int64] = (w[:, 2] - w[:, 0]) * (w[:, 3] - w[:, 1])
        return sizes


def trace_cells(crop: npt.NDArray[np.bool_], offset: tuple[int, int]) -> npt.NDArray[np.int64]:
    """(k, 2) every boundary cell of the mask's longest outer contour, in grid cells."""
    if not crop.size:
        return np.zeros((0, 2), dtype=np.int64)
    pixels = np.ascontiguousarray(crop).view(np.uint8)
    contours, _ = cv2.findContours(pixels, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE, offset=offset)
    if not contours:
        return np.zeros((0, 2), dtype=np.int64)
    return np.asarray(max(contours, key=len), dtype=np.int64).reshape(-1, 2)


def traced_outlines(
    cells: MaskCrops, field: GridField, width: int, height: int
) -> tuple[list[npt.NDArray[np.float64]], list[npt.NDArray[np.int64] | None]]:
    """Each crop's outline in whole frame pixels (:func:`trace_cells`, then
    :func:`subcell_outlines`), and its cell contour where that has 1 or 2 cells (None
    otherwise): such a contour has no sides to move, and its outline here is empty. The
    compiled kernel does both steps per crop where it is built (the same vertices)."""
    offsets = [(x0, y0) for x0, y0, _, _ in cells.windows.tolist()]
    if native.available():
        sx, sy = width / cells.width, height / cells.height
        out, lengths = native.grid_outlines(
            cells.crops,
            cells.windows,
            (field.flat, field.windows, field.pixel_boxes),
            (sx, sy),
            _stride(sx, sy),
            (_NEWTON_STEPS, _MAX_REACH),
            (_NORMAL_X, _NORMAL_Y),
        )
        short = [trace_cells(c, o) if 0 < n <= 2 else None for c, o, n in zip(cells.crops, offsets, lengths.tolist())]
        return out, short
    traced = [trace_cells(c, o) for c, o in zip(cells.crops, offsets)]
    out = subcell_outlines(traced, cells, field, width, height)
    return out, [t if 0 < len(t) <= 2 else None for t in traced]


def _stride(sx: float, sy: float) -> int:
    """Every how many cells a straight run keeps a vertex."""
    return max(1, round(_SPACING_PX / min(sx, sy)))


def subcell_outlines(
    traced: list[npt.NDArray[np.int64]], cells: MaskCrops, field: GridField, width: int, height: int
) -> list[npt.NDArray[np.float64]]:
    """Each cell contour (``trace_cells``, grid cells) as an outline in whole frame pixels."""
    out: list[npt.NDArray[np.float64]] = [np.zeros((0, 2)) for _ in traced]
    lens = np.array([len(t) for t in traced], dtype=np.int64)
    keep = np.flatnonzero(lens)
    if not len(keep):
        return out
    sx, sy = width / cells.width, height / cells.height
    P = np.concatenate([traced[i] for i in keep.tolist()])
    # Columns, not (n, 2) rows: numpy's reductions and broadcasts over pairs are slow.
    px, py = P[:, 0], P[:, 1]
    ring = _Rings(lens[keep])
    nx, ny = _outward_normals(px, py, ring.nxt, ring.prv)
    stride = _stride(sx, sy)
    if stride > 1:
        # A finer grid (tradeoff) needs no vertex every cell: every stride-th, and each turn.
        turn = (px[ring.nxt] - px != px - px[ring.prv]) | (py[ring.nxt] - py != py - py[ring.prv])
        chosen = turn | ((ring.idx - ring.start) % stride == 0)
        px, py, nx, ny = px[chosen], py[chosen], nx[chosen], ny[chosen]
        ring = _Rings(np.add.reduceat(chosen.astype(np.int64), ring.first))
    sample = _Sampler(field, keep, ring.k)
    t = _zero_crossing(sample, px, py, nx, ny)
    # Half a frame pixel back in along the normal, in frame units (a cell is sx x sy pixels).
    ox, oy = nx * sx, ny * sy
    back = 0.5 / np.hypot(ox, oy)
    fx = (px + nx * t + 0.5) * sx - 0.5 - ox * back
    fy = (py + ny * t + 0.5) * sy - 0.5 - oy * back
    fx, fy = _onto_boxes(fx, fy, px, py, keep, ring.k, cells, field, sample)
    rx, ry = np.rint(fx) + 0.0, np.rint(fy) + 0.0  # + 0.0: no -0.0
    # Rounding can land neighbours on one pixel, and a run on one line needs only its ends:
    # keep a vertex that moves on from the one before and turns (a lone vertex is kept).
    dx_in, dy_in = rx - rx[ring.prv], ry - ry[ring.prv]
    dx_out, dy_out = rx[ring.nxt] - rx, ry[ring.nxt] - ry
    moved = (dx_in != 0) | (dy_in != 0)
    straight = (dx_in * dy_out == dy_in * dx_out) & (dx_in * dx_out + dy_in * dy_out > 0)
    fresh = (moved & ~straight) | (np.repeat(ring.k, ring.k) == 1)
    ends = np.cumsum(np.add.reduceat(fresh.astype(np.int64), ring.first)).tolist()
    frame = np.stack([rx[fresh], ry[fresh]], axis=1)
    for i, a, b in zip(keep.tolist(), [0, *ends[:-1]], ends):
        out[i] = frame[a:b]
    return out


class _Rings:
    """Closed contours of ``k`` vertices each, laid end to end: each vertex's next and previous."""

    def __init__(self, k: npt.NDArray[np.int64]) -> None:
        self.k = k
        self.first = np.cumsum(k) - k
        self.start = np.repeat(self.first, k)
        end = self.start + np.repeat(k, k)
        self.idx = np.arange(int(k.sum()))
        self.nxt = np.where(self.idx + 1 < end, self.idx + 1, self.start)
        self.prv = np.where(self.idx > self.start, self.idx - 1, end - 1)


def _zero_crossing(
    sample: _Sampler,
    px: npt.NDArray[np.int64],
    py: npt.NDArray[np.int64],
    nx: npt.NDArray[np.float32],
    ny: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """How far (cells) along its outward normal each boundary cell's field reaches zero."""
    qx, qy = (px - sample.x0).astype(np.float32), (py - sample.y0).astype(np.float32)
    t = np.full(len(px), 0.5, dtype=np.float32)  # the cells' edge: where a flat or rising field stays
    for _ in range(_NEWTON_STEPS):
        value, gx, gy = sample.at(qx + nx * t, qy + ny * t)
        slope = gx * nx + gy * ny
        falling = slope < -1e-6
        step = np.where(falling, -value / np.where(falling, slope, np.float32(-1.0)), np.float32(0.0))
        t = np.clip(t + np.clip(step, -0.75, 0.75), 0.0, _MAX_REACH).astype(np.float32)
    return t


def _onto_boxes(
    fx: npt.NDArray[np.floating],
    fy: npt.NDArray[np.floating],
    px: npt.NDArray[np.int64],
    py: npt.NDArray[np.int64],
    keep: npt.NDArray[np.intp],
    k: npt.NDArray[np.int64],
    cells: MaskCrops,
    field: GridField,
    sample: _Sampler,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Frame positions kept within each box's pixels, and put on the box's last pixel where the
    contour runs along its cut (the field still > 0 past the window's edge)."""
    box, win = field.pixel_boxes[keep], cells.windows[keep]
    bx0, by0 = np.repeat(box[:, 0], k), np.repeat(box[:, 1], k)
    bx1, by1 = np.repeat(np.maximum(box[:, 2] - 1, box[:, 0]), k), np.repeat(np.maximum(box[:, 3] - 1, box[:, 1]), k)
    cx: npt.NDArray[np.float64] = np.clip(fx, bx0, bx1).astype(np.float64)
    cy: npt.NDArray[np.float64] = np.clip(fy, by0, by1).astype(np.float64)
    wx0, wy0 = np.repeat(win[:, 0], k), np.repeat(win[:, 1], k)
    wx1, wy1 = np.repeat(win[:, 2] - 1, k), np.repeat(win[:, 3] - 1, k)
    # Only vertices on their window's edge can be on the box's cut: few, so test just those.
    for axis, (pos, lo, hi, put_lo, put_hi) in enumerate(((px, wx0, wx1, bx0, bx1), (py, wy0, wy1, by0, by1))):
        at_lo, at_hi = np.flatnonzero(pos == lo), np.flatnonzero(pos == hi)
        out_lo = sample.cell(at_lo, px[at_lo] - (axis == 0), py[at_lo] - (axis == 1)) > 0
        out_hi = sample.cell(at_hi, px[at_hi] + (axis == 0), py[at_hi] + (axis == 1)) > 0
        target = cx if axis == 0 else cy
        target[at_lo[out_lo]] = put_lo[at_lo[out_lo]]
        target[at_hi[out_hi]] = put_hi[at_hi[out_hi]]
    return cx, cy


def _outward_normals(
    px: npt.NDArray[np.int64], py: npt.NDArray[np.int64], nxt: npt.NDArray[np.intp], prv: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Unit outward normal (x, y) at each vertex of 8-connected contours, from its neighbours;
    a spur's tip points on past it, the way the contour came in; a lone cell up."""
    tx, ty = px[nxt] - px[prv], py[nxt] - py[prv]  # each in -2..2 (neighbours are adjacent)
    ix, iy = px - px[prv], py - py[prv]  # each in -1..1
    tip = (tx == 0) & (ty == 0)
    code = np.where(tip, 25 + (ix + 1) * 3 + (iy + 1), (tx + 2) * 5 + (ty + 2))
    return _NORMAL_X[code], _NORMAL_Y[code]


def _normal_table() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The normals of :func:`_outward_normals` for every tangent (codes 0-24) and spur tip
    (25-33). OpenCV traces every outer contour one way round (negative oriented area, y down),
    so the outward side of tangent (tx, ty) is (-ty, tx)."""
    t = np.array([(tx, ty) for tx in range(-2, 3) for ty in range(-2, 3)], dtype=np.float64)
    normals = np.stack([-t[:, 1], t[:, 0]], axis=1)
    tips = np.array([(ix, iy) for ix in range(-1, 2) for iy in range(-1, 2)], dtype=np.float64)
    every = np.concatenate([normals, tips])
    lone = np.hypot(every[:, 0], every[:, 1]) == 0
    every[lone] = (0.0, -1.0)  # no direction at all: a lone cell
    every /= np.hypot(every[:, 0], every[:, 1])[:, None]
    return every[:, 0].astype(np.float32), every[:, 1].astype(np.float32)


_NORMAL_X, _NORMAL_Y = _normal_table()


class _Sampler:
    """The fields of a frame's instances as one flat array, read at each vertex's instance."""

    def __init__(self, field: GridField, keep: npt.NDArray[np.intp], k: npt.NDArray[np.int64]) -> None:
        sizes = field.sizes()
        self.flat = field.flat
        # Per instance, then repeated over its vertices (runs: cheaper than a gather).
        win = field.windows[keep]
        x0, y0, w, h = win[:, 0], win[:, 1], win[:, 2] - win[:, 0], win[:, 3] - win[:, 1]
        self.base = np.repeat((np.cumsum(sizes) - sizes)[keep], k)
        self.x0, self.y0 = np.repeat(x0, k), np.repeat(y0, k)
        self.w, self.h = np.repeat(w, k), np.repeat(h, k)
        self.wmax, self.hmax = np.repeat(np.maximum(w - 2, 0), k), np.repeat(np.maximum(h - 2, 0), k)

    def cell(
        self, which: npt.NDArray[np.intp], x: npt.NDArray[np.int64], y: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float32]:
        """The field at grid cells (x, y) of vertices ``which``; +inf where the field ends (the grid's edge)."""
        lx, ly = x - self.x0[which], y - self.y0[which]
        w, h = self.w[which], self.h[which]
        inside = (lx >= 0) & (lx < w) & (ly >= 0) & (ly < h)
        i = self.base[which] + np.where(inside, ly * w + lx, 0)
        out: npt.NDArray[np.float32] = np.where(inside, self.flat[i], np.float32(np.inf))
        return out

    def at(
        self, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The bilinear interpolant and its gradient (value, d/dx, d/dy) at field coordinates;
        past the field's last cells it extends the border cells' patch linearly."""
        ix = np.minimum(np.maximum(np.floor(x).astype(np.int64), 0), self.wmax)
        iy = np.minimum(np.maximum(np.floor(y).astype(np.int64), 0), self.hmax)
        dx = np.minimum(ix + 1, self.w - 1) - ix
        row0 = self.base + iy * self.w + ix
        row1 = row0 + (np.minimum(iy + 1, self.h - 1) - iy) * self.w
        fx, fy = x - ix.astype(np.float32), y - iy.astype(np.float32)
        v00, v10, v01, v11 = self.flat[row0], self.flat[row0 + dx], self.flat[row1], self.flat[row1 + dx]
        top = v00 + (v10 - v00) * fx
        bottom = v01 + (v11 - v01) * fx
        gx = (v10 - v00) + ((v11 - v01) - (v10 - v00)) * fy
        return top + (bottom - top) * fy, gx, bottom - top
