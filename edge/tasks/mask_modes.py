"""The hosted API's ``fast`` and ``tradeoff`` mask decode modes: masks at a coarser grid.

``accurate`` (:mod:`edge.tasks.masks`) resizes each instance's prototype map to the frame and
traces its outline there. The other two modes, as Roboflow's inference server defines them
(``process_mask_fast`` / ``process_mask_tradeoff`` in ``inference/core/utils/postprocess.py``),
decode on a coarser *grid* and trace the outline on it:

* ``fast``: the grid is the prototype map itself (160 x 160 cells for a 640 model): no
  resize at all; the box is scaled to cells, the mask thresholded and traced there.
* ``tradeoff``: the grid is ``int(p * (1 - f) + n * f)`` per axis, between the prototypes'
  size ``p`` (f = 0, the same as ``fast``) and the network input's ``n`` (f = 1); the map is
  resized bilinearly to it (``cv2.resize``'s taps, over the box's window only), cropped to the
  box scaled to the grid, thresholded and traced.

What edge does in its own way: the grid covers the image content only (the letterbox bars are
cut off first, as ``accurate`` does), so a cell maps to the frame by an affine scale: cell
centre ``g`` is frame pixel ``(g + 0.5) * W / grid_w - 0.5``. The crop rule is accurate's
Ultralytics one at grid scale (cell ``c`` is in when ``ceil(x0) <= c < ceil(x1)``, box in
cells). The model's mask style picks what is thresholded: Ultralytics exports threshold the
(resized) logits at 0, Roboflow packages the (resized) sigmoid at 0.5; without a resize both
are the same cells.

At frame resolution (what RLE carries and :meth:`GridMasks.to_frame` builds, only when read)
an instance's mask is where its grid's field, resized bilinearly to the frame as ``accurate``
resizes the prototypes, is above zero, cut to the box's pixels: solved for per frame column
from the field at the cell rows (:mod:`edge.tasks.field_masks`), so no per-pixel work. For
``fast`` that is accurate's mask but for float rounding (Ultralytics exports; a Roboflow
package's accurate mask is cut in prototype cells). The polygon is traced on the grid and then
placed between the cells, where the field they were thresholded from crosses zero
(:mod:`edge.tasks.subcell`), which is where ``accurate``'s resized mask ends; so a polygon of a
coarser mode is closer to accurate's than its own cells are. Roboflow's code scales the
cell-centre contour as it is, half a cell inside the mask and, from scaling cell indices,
shifted up and left. docs/daemon.md ("Mask decode modes") gives the measured IoU and cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.models.spec import MaskStyle
from edge.preprocess import Geometry
from edge.tasks import native
from edge.tasks.field_masks import field_crops, field_rle_counts, field_rle_strings
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.masks import band, box_windows, content_cells, mask_crops_from_protos, row_major
from edge.tasks.params import InferenceParams
from edge.tasks.resample import AxisTaps, interpolate, linear_taps
from edge.tasks.rle import counts_from_bounds_many, counts_to_strings
from edge.tasks.subcell import GridField, traced_outlines
from edge.tasks.window_resize import AlignedAxis, plan_axis


@dataclass(frozen=True)
class GridMasks:
    """n masks on a ``grid_w`` x ``grid_h`` grid laid over a ``width`` x ``height`` frame.

    ``cells`` holds them as :class:`MaskCrops` do, with windows and sizes in grid cells.
    """

    cells: MaskCrops
    width: int
    height: int
    # What the cells were thresholded from; with it the outlines are placed between cells.
    field: GridField | None = None

    @property
    def grid_w(self) -> int:
        return self.cells.width

    @property
    def grid_h(self) -> int:
        return self.cells.height

    def polygons(self) -> list[npt.NDArray[np.float64]]:
        """One (k, 2) outline per mask in frame pixels, traced on the grid: between the
        cells where the field crosses zero (:mod:`edge.tasks.subcell`), or without a field
        on the cells' edges."""
        sx, sy = self.width / self.grid_w, self.height / self.grid_h
        if self.field is None:
            return grid_outlines(self.cells.polygons(), sx, sy)
        out, short = traced_outlines(self.cells, self.field, self.width, self.height)
        # One or two cells have no sides to move: their square(s) of cells it is.
        tiny = [(i, t) for i, t in enumerate(short) if t is not None]
        squares = grid_outlines([t.astype(np.float64) for _, t in tiny], sx, sy)
        for (i, _), poly in zip(tiny, squares):
            out[i] = np.clip(poly, 0, [self.width - 1, self.height - 1])
        return out

    def rle_strings(self) -> list[str]:
        """Each mask's COCO RLE string at frame resolution (:meth:`rle_counts`, written as
        pycocotools does): by the compiled kernel where it is built, the same strings."""
        if self.field is not None:
            f, grid, frame = self.field, (self.grid_w, self.grid_h), (self.width, self.height)
            if native.available():
                return native.field_rle(f.flat, f.windows, f.pixel_boxes, grid, frame)
            return field_rle_strings(f, grid, frame)
        if native.available():
            col_cell, row_cell = _cell_of(self.width, self.grid_w), _cell_of(self.height, self.grid_h)
            return native.grid_rle(self.cells.crops, self.cells.windows, col_cell, row_cell)
        return counts_to_strings(self.rle_counts())

    def rle_counts(self) -> list[npt.NDArray[np.int64]]:
        """Each mask's COCO RLE counts at frame resolution (the pixels :meth:`to_frame` gives).
        With a field (every fast / tradeoff result), its mask's (:mod:`edge.tasks.field_masks`).
        Without (cells standing for pixels, as :func:`edge.tasks.rle.rescale_v1` uses them),
        straight from the cells: a cell column's runs, their ends mapped to frame rows, repeat
        in every frame column the cell column covers, so no frame-size pixels are made. Only
        finding each crop's changes is per instance; the rest is done for all at once."""
        if self.field is not None:
            return field_rle_counts(self.field, (self.grid_w, self.grid_h), (self.width, self.height))
        W, H = self.width, self.height
        n = len(self.cells)
        if n == 0:
            return []
        col_cell, row_cell = _cell_of(W, self.grid_w), _cell_of(H, self.grid_h)
        win = self.cells.windows
        gw = win[:, 2] - win[:, 0]
        which, rows, cols = [], [], []
        for i, crop in enumerate(self.cells.crops):
            gh = crop.shape[0]
            if not crop.any():
                continue
            change = np.empty((gh + 1, crop.shape[1]), dtype=bool)  # as rle.encode_crop, over cells
            change[0], change[gh] = crop[0], crop[gh - 1]
            np.not_equal(crop[1:], crop[:-1], out=change[1:gh])
            row, col = np.divmod(np.flatnonzero(change), crop.shape[1])
            which.append(np.full(len(row), i, dtype=np.int64))
            rows.append(row)
            cols.append(col)
        if not which:
            return [np.array([W * H], dtype=np.int64) for _ in range(n)]
        inst, row, col = np.concatenate(which), np.concatenate(rows), np.concatenate(cols)
        # Every (instance, cell column) is one block of changes, down the column.
        first_block = np.cumsum(gw) - gw
        block = first_block[inst] + col
        order = np.lexsort((row, block))
        block = block[order]
        rows_at = np.searchsorted(row_cell, win[inst[order], 1] + row[order], side="left")
        per_block = np.bincount(block, minlength=int(gw.sum()))
        block_start = np.cumsum(per_block) - per_block
        # Each frame column of an instance repeats the block of the cell column it lies in.
        x0 = np.searchsorted(col_cell, win[:, 0], side="left")
        x1 = np.searchsorted(col_cell, win[:, 2], side="left")
        width = x1 - x0
        owner = np.repeat(np.arange(n), width)
        xs = np.repeat(x0 - (np.cumsum(width) - width), width) + np.arange(int(width.sum()))
        jx = first_block[owner] + col_cell[xs] - win[owner, 0]
        k = per_block[jx]
        idx = np.repeat(block_start[jx] - (np.cumsum(k) - k), k) + np.arange(int(k.sum()))
        bounds = rows_at[idx] + np.repeat(xs * H, k)
        return counts_from_bounds_many(bounds, np.repeat(owner, k), n, W, H)

    def to_frame(self) -> MaskCrops:
        """The masks at frame resolution: with a field, where it is above zero resized
        bilinearly to the frame (:mod:`edge.tasks.field_masks`); without, each frame pixel
        takes the cell it lies in."""
        if self.field is not None:
            return field_crops(self.field, (self.grid_w, self.grid_h), (self.width, self.height))
        col_cell = _cell_of(self.width, self.grid_w)
        row_cell = _cell_of(self.height, self.grid_h)
        n = len(self.cells)
        windows = np.zeros((n, 4), dtype=np.int64)
        crops: list[npt.NDArray[np.bool_]] = []
        for i, ((gx0, gy0, gx1, gy1), crop) in enumerate(zip(self.cells.windows.tolist(), self.cells.crops)):
            x0, x1 = np.searchsorted(col_cell, [gx0, gx1], side="left").tolist()
            y0, y1 = np.searchsorted(row_cell, [gy0, gy1], side="left").tolist()
            windows[i] = (x0, y0, x1, y1)
            if x1 <= x0 or y1 <= y0:
                crops.append(np.zeros((y1 - y0, x1 - x0), dtype=bool))
                continue
            # Frame pixels per cell along each axis: a repeat is a plain copy, no gather.
            reps_x = np.bincount(col_cell[x0:x1] - gx0, minlength=gx1 - gx0)
            reps_y = np.bincount(row_cell[y0:y1] - gy0, minlength=gy1 - gy0)
            crops.append(np.repeat(np.repeat(crop, reps_y, axis=0), reps_x, axis=1))
        return MaskCrops(windows, tuple(crops), self.width, self.height)


def decode_masks(
    coeffs: npt.NDArray[np.floating],
    protos: npt.NDArray[np.floating],
    geometry: Geometry,
    xyxy: npt.NDArray[np.floating],
    xyxy_net: npt.NDArray[np.floating],
    params: InferenceParams,
    style: MaskStyle = MaskStyle.ULTRALYTICS,
) -> tuple[MaskCrops, GridMasks | None]:
    """The masks in ``params.mask_decode_mode``: frame-resolution crops, and for fast /
    tradeoff the grid they were decoded on (where the outlines are traced)."""
    if params.mask_decode_mode == "accurate":
        return mask_crops_from_protos(coeffs, protos, geometry, xyxy, xyxy_net, style), None
    grid = grid_masks_from_protos(
        coeffs, protos, geometry, xyxy, params.mask_decode_mode, params.tradeoff_factor, style
    )
    return FrameCrops(grid), grid


def grid_size(geometry: Geometry, content: tuple[int, int], mode: str, factor: float) -> tuple[int, int]:
    """(grid_w, grid_h): the prototype cells over the content for ``fast``, a blend for ``tradeoff``."""
    cw, ch = content
    if mode == "fast" or factor == 0.0:
        return cw, ch
    if mode != "tradeoff":
        raise EdgeError(f"mask_decode_mode must be fast or tradeoff here, got {mode!r}")
    x0, y0, x1, y1 = geometry.content_window()
    # Roboflow's blend, int() as it truncates: int(proto * (1 - f) + input * f).
    return max(1, int(cw * (1 - factor) + (x1 - x0) * factor)), max(1, int(ch * (1 - factor) + (y1 - y0) * factor))


def grid_masks_from_protos(
    coeffs: npt.NDArray[np.floating],
    protos: npt.NDArray[np.floating],
    geometry: Geometry,
    xyxy: npt.NDArray[np.floating],
    mode: str,
    factor: float = 0.0,
    style: MaskStyle = MaskStyle.ULTRALYTICS,
) -> GridMasks:
    """One grid mask per instance. ``coeffs`` (n, M), ``protos`` (M, h, w), ``xyxy`` (n, 4)
    boxes in frame pixels."""
    W, H = geometry.src_w, geometry.src_h
    _, ph, pw = protos.shape
    cx0, cy0, cx1, cy1 = content_cells(geometry, ph, pw, style)
    gw, gh = grid_size(geometry, (cx1 - cx0, cy1 - cy0), mode, factor)
    n = len(coeffs)
    if n == 0:
        return GridMasks(MaskCrops.empty(gw, gh), W, H)
    content = np.asarray(protos, dtype=np.float32)[:, cy0:cy1, cx0:cx1]
    flat, cw = row_major(content), cx1 - cx0
    resized = (gw, gh) != (cx1 - cx0, cy1 - cy0)
    if resized:
        rows, cols = linear_taps(cy1 - cy0, gh), linear_taps(cx1 - cx0, gw)
        # cv2.resize over aligned windows where the grid's scale allows (edge.tasks.window_resize);
        # no exactness check here: tradeoff's cells are not held to bit-identical sums.
        ay, ax = plan_axis(cy1 - cy0, gh, rows), plan_axis(cx1 - cx0, gw, cols)
    # Cell (c, r) is inside the box when ceil(x0) <= c < ceil(x1), the box scaled to cells.
    scale = np.array([gw / W, gh / H, gw / W, gh / H])
    win = np.clip(np.ceil(np.asarray(xyxy, dtype=np.float64) * scale), 0, [gw, gh, gw, gh]).astype(np.int64)
    win[:, 2:] = np.maximum(win[:, 2:], win[:, :2])
    coeffs32 = np.asarray(coeffs, dtype=np.float32)
    # The field is read one cell past the box on each side (where the grid goes on), so the
    # outline knows whether the mask ends at the box's cut or at its own edge.
    grown = np.clip(win + np.array([-1, -1, 1, 1]), 0, [gw, gh, gw, gh])
    grown[:, 2:] = np.maximum(grown[:, 2:], grown[:, :2] + 1)
    grown[:, :2] = np.minimum(grown[:, :2], [gw - 1, gh - 1])
    crops: list[npt.NDArray[np.bool_]] = []
    sizes = (grown[:, 2] - grown[:, 0]) * (grown[:, 3] - grown[:, 1])
    flat_field = np.empty(int(sizes.sum()), dtype=np.float32)  # every instance's field, one after another
    at = 0
    for i, ((x0, y0, x1, y1), (ex0, ey0, ex1, ey1)) in enumerate(zip(win.tolist(), grown.tolist())):
        if not resized:
            v = band(coeffs32[i], flat, cw, slice(ey0, ey1), slice(ex0, ex1))
            if style is MaskStyle.ROBOFLOW:  # the same cells; the field accurate resizes is the sigmoid's
                v = _sigmoid(v) - np.float32(0.5)
        elif ay is not None and ax is not None:
            v = _resized_field_aligned(coeffs32[i], flat, cw, ay, ax, (ex0, ey0, ex1, ey1), style)
        else:
            v = _resized_field(coeffs32[i], flat, cw, rows.window(ey0, ey1), cols.window(ex0, ex1), style)
        mine = flat_field[at : at + v.size].reshape(v.shape)
        mine[...] = v
        at += v.size
        crops.append(mine[y0 - ey0 : y1 - ey0, x0 - ex0 : x1 - ex0] > 0.0)
    field = GridField(flat_field, grown, box_windows(xyxy, W, H))
    return GridMasks(MaskCrops(win, tuple(crops), gw, gh), W, H, field)


def _resized_field_aligned(
    coeff: npt.NDArray[np.float32],
    flat: npt.NDArray[np.float32],
    cw: int,
    ay: AlignedAxis,
    ax: AlignedAxis,
    window: tuple[int, int, int, int],
    style: MaskStyle,
) -> npt.NDArray[np.float32]:
    """As :func:`_resized_field`, by one ``cv2.resize`` of the cells under the window."""
    ex0, ey0, ex1, ey1 = window
    (r0, r1), (c0, c1) = ay.cells(ey0, ey1), ax.cells(ex0, ex1)
    values = band(coeff, flat, cw, slice(r0, r1), slice(c0, c1))
    if style is MaskStyle.ROBOFLOW:  # Roboflow resizes the sigmoid, then keeps > 0.5
        values = _sigmoid(values)
    (oy, oy1), (ox, ox1) = ay.pixels(r0, r1), ax.pixels(c0, c1)
    grid = np.asarray(cv2.resize(values, (ox1 - ox, oy1 - oy), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    out: npt.NDArray[np.float32] = grid[ey0 - oy : ey1 - oy, ex0 - ox : ex1 - ox]
    if style is MaskStyle.ROBOFLOW:
        out = out - np.float32(0.5)
    return out


def _resized_field(
    coeff: npt.NDArray[np.float32],
    flat: npt.NDArray[np.float32],
    cw: int,
    rows: AxisTaps,
    cols: AxisTaps,
    style: MaskStyle,
) -> npt.NDArray[np.float32]:
    """One instance's field less its threshold over a window of the resized grid, from the
    cells it reads: > 0 inside."""
    r0, r1 = rows.source_span()
    c0, c1 = cols.source_span()
    logits = band(coeff, flat, cw, slice(r0, r1), slice(c0, c1))
    rs, cs = rows.shifted(r0), cols.shifted(c0)
    if style is MaskStyle.ROBOFLOW:  # Roboflow resizes the sigmoid, then keeps > 0.5
        probs = _sigmoid(logits)
        out: npt.NDArray[np.float32] = interpolate(probs, rs, cs) - np.float32(0.5)
        return out
    resized: npt.NDArray[np.float32] = interpolate(logits, rs, cs)
    return resized


def _sigmoid(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """float32 throughout, as Roboflow's decoder computes it."""
    out: npt.NDArray[np.float32] = (np.float32(1.0) / (np.float32(1.0) + np.exp(-logits))).astype(np.float32)
    return out


def _cell_of(length: int, cells: int) -> npt.NDArray[np.int64]:
    """The grid cell each of ``length`` frame pixels lies in (its centre's cell)."""
    at = np.floor((np.arange(length, dtype=np.float64) + 0.5) * (cells / length)).astype(np.int64)
    return np.minimum(at, cells - 1)


def grid_outlines(polys: list[npt.NDArray[np.float64]], sx: float, sy: float) -> list[npt.NDArray[np.float64]]:
    """Cell-centre contours (grid cells) to outlines in frame pixels, all instances at once.

    A contour traced on the grid runs through the centres of its boundary cells, half a cell
    inside the cells' edge. Each edge is moved out to where the cells end (0.5 cell for
    horizontal and vertical edges; 0.5 / sqrt(2) for diagonal ones, where the cells' staircase
    lies on average), less half a frame pixel so the outline runs through the boundary
    pixels' centres as an ``accurate`` one does; vertices go where the moved edges meet. A
    contour that turns back on itself (a one-cell-wide spur) gets a square cap, a single cell
    a square.
    """
    lens = np.array([len(p) for p in polys], dtype=np.int64)
    out: list[npt.NDArray[np.float64]] = [np.zeros((0, 2)) for _ in polys]
    if not lens.any():
        return out
    keep = np.flatnonzero(lens)
    P = np.concatenate([polys[i] for i in keep]).astype(np.float64)
    k = lens[keep]
    start = np.repeat(np.cumsum(k) - k, k)
    end = start + np.repeat(k, k)
    idx = np.arange(len(P))
    nxt = np.where(idx + 1 < end, idx + 1, start)
    prv = np.where(idx > start, idx - 1, end - 1)
    cap = 0.5 - 0.5 / ((sx + sy) / 2)  # half a cell less half a frame pixel, in cells
    # Orientation of each contour (shoelace); a flat one (a line of cells) either way.
    cross_z = P[:, 0] * P[nxt, 1] - P[nxt, 0] * P[:, 1]
    area = np.add.reduceat(cross_z, np.cumsum(k) - k)
    side = np.repeat(np.where(area < 0, -1.0, 1.0), k)
    d = P[nxt] - P  # edge i runs from vertex i to the next
    length = np.hypot(d[:, 0], d[:, 1])
    u = d / np.maximum(length, 1e-12)[:, None]
    normal = np.stack([u[:, 1], -u[:, 0]], axis=1) * side[:, None]  # outward
    diagonal = np.abs(np.abs(d[:, 0]) - np.abs(d[:, 1])) < 1e-9
    offset = np.where(diagonal, 0.5 / np.sqrt(2.0), 0.5) - 0.5 / ((sx + sy) / 2)
    n_in, n_out, o_in, o_out = normal[prv], normal, offset[prv], offset
    det = n_in[:, 0] * n_out[:, 1] - n_in[:, 1] * n_out[:, 0]
    turn = np.abs(det) > 1e-9
    safe = np.where(turn, det, 1.0)
    dx = (o_in * n_out[:, 1] - o_out * n_in[:, 1]) / safe
    dy = (n_in[:, 0] * o_out - n_out[:, 0] * o_in) / safe
    moved = P + np.where(turn[:, None], np.stack([dx, dy], axis=1), n_out * o_out[:, None])
    back = ~turn & ((n_in * n_out).sum(axis=1) < 0)  # the contour turns back: cap it
    single = np.repeat(k == 1, k)
    reps = np.where(single, 4, np.where(back, 2, 1))
    at = np.repeat(idx, reps)
    res = moved[at]
    first = np.concatenate([[0], np.cumsum(reps)[:-1]])
    if back.any():
        b = np.flatnonzero(back & ~single)
        ahead = u[prv[b]] * cap  # carry on past the spur's tip by the cap
        res[first[b]] = P[b] + n_in[b] * o_in[b, None] + ahead
        res[first[b] + 1] = P[b] + n_out[b] * o_out[b, None] + ahead
    if single.any():
        s = np.flatnonzero(single)
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * cap
        res[(first[s, None] + np.arange(4)).ravel()] = (P[s, None, :] + corners[None]).reshape(-1, 2)
    # On whole frame pixels, as accurate's vertices are: a cell is 4-8 pixels, so there is no
    # sub-pixel precision to lose, and whole numbers go to JSON from a table (edge.tasks.points).
    res = np.rint((res + 0.5) * [sx, sy] - 0.5) + 0.0  # + 0.0: no -0.0
    bounds = np.cumsum(np.add.reduceat(reps, np.cumsum(k) - k))
    for i, chunk in zip(keep.tolist(), np.split(res, bounds[:-1])):
        out[i] = chunk
    return out


class FrameCrops(MaskCrops):
    """A grid's masks at frame resolution, built on first use: a fast or tradeoff result sent
    as polygons never needs its frame-size pixels, so it never pays for them."""

    def __init__(self, grid: GridMasks) -> None:  # no dataclass __init__: nothing to check yet
        object.__setattr__(self, "_grid", grid)
        object.__setattr__(self, "_built", None)

    def _frame(self) -> MaskCrops:
        built: MaskCrops | None = self.__dict__["_built"]
        if built is None:
            built = self.__dict__["_grid"].to_frame()
            object.__setattr__(self, "_built", built)
        return built

    @property
    def windows(self) -> npt.NDArray[np.int64]:
        return self._frame().windows

    @property
    def crops(self) -> tuple[npt.NDArray[np.bool_], ...]:
        return self._frame().crops

    @property
    def width(self) -> int:
        return int(self.__dict__["_grid"].width)

    @property
    def height(self) -> int:
        return int(self.__dict__["_grid"].height)

    def __len__(self) -> int:
        return len(self.__dict__["_grid"].cells)
