"""Instance masks from YOLO prototypes, built box-locally in one of two styles.

Both styles combine each instance's coefficients with the prototypes at prototype
resolution (n x 160 x 160 for a 640 model: small), drop the letterbox padding, and would
then bilinearly resize to the frame; here only the window of that resize where the mask can
be set is computed, from the few prototype cells it reads, so the cost is the boxes' area,
not n x the frame's: by the compiled kernel of :mod:`edge.tasks.native` where the install
built it (one pass, any frame size), else by ``cv2.resize`` over an aligned window of cells
where the frame's scale allows (:mod:`edge.tasks.window_resize`, the common camera sizes), else
by the numpy taps of :mod:`edge.tasks.resample`; all three give the same bits.

* ``ultralytics`` (Ultralytics exports): resize the logits, keep logits > 0 inside the
  box (pixel (c, r) with x0 <= c < x1, y0 <= r < y1). Interpolating logits is what
  Ultralytics' native masks do; it keeps thin parts of small objects.
* ``roboflow`` (Roboflow packages, as ``inference_models`` 0.39 builds masks for YOLOv8
  seg ONNX): sigmoid at prototype resolution, zero outside the box rounded to prototype
  cells, resize the probabilities, keep > 0.5. The crop happens before the resize, so the
  mask's edge along the box is soft rather than cut.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge.models.spec import MaskStyle
from edge.preprocess import Geometry
from edge.tasks import native
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.resample import AxisTaps, Scratch, interpolate_above, linear_taps
from edge.tasks.window_resize import AlignedAxis, Window, plan_axis, window_above


def content_cells(geometry: Geometry, ph: int, pw: int, style: MaskStyle) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) prototype cells that cover image content, not letterbox bars."""
    x0, y0, x1, y1 = geometry.content_window()
    sx, sy = pw / geometry.net_w, ph / geometry.net_h
    cx0, cy0 = int(round(x0 * sx)), int(round(y0 * sy))
    if style is MaskStyle.ROBOFLOW:
        # inference_models rounds each side's padding separately: mask_w - round(s * pad_right).
        cx1, cy1 = pw - int(round(sx * (geometry.net_w - x1))), ph - int(round(sy * (geometry.net_h - y1)))
    else:
        cx1, cy1 = int(round(x1 * sx)), int(round(y1 * sy))
    return cx0, cy0, max(cx1, cx0 + 1), max(cy1, cy0 + 1)


def mask_crops_from_protos(
    coeffs: npt.NDArray[np.floating],
    protos: npt.NDArray[np.floating],
    geometry: Geometry,
    xyxy: npt.NDArray[np.floating],
    xyxy_net: npt.NDArray[np.floating],
    style: MaskStyle = MaskStyle.ULTRALYTICS,
) -> MaskCrops:
    """One box-local mask per instance.

    ``coeffs`` (n, M) mask coefficients, ``protos`` (M, h, w), ``xyxy`` (n, 4) boxes in frame
    pixels and ``xyxy_net`` the same boxes in network pixels (the Roboflow style crops there).
    """
    n = len(coeffs)
    W, H = geometry.src_w, geometry.src_h
    if n == 0:
        return MaskCrops.empty(W, H)
    _, ph, pw = protos.shape
    cx0, cy0, cx1, cy1 = content_cells(geometry, ph, pw, style)
    content = np.asarray(protos, dtype=np.float32)[:, cy0:cy1, cx0:cx1]
    rows, cols = linear_taps(cy1 - cy0, H), linear_taps(cx1 - cx0, W)
    coeffs32 = np.asarray(coeffs, dtype=np.float32)
    ay, ax = plan_axis(cy1 - cy0, H, rows), plan_axis(cx1 - cx0, W, cols)
    if style is MaskStyle.ROBOFLOW:
        cells = _proto_boxes(xyxy_net, geometry, ph, pw, (cx0, cy0, cx1, cy1))
        if native.available():
            return _roboflow_crops_native(coeffs32, content, cells, rows, cols, W, H)
        if ay is not None and ax is not None:
            return _roboflow_crops_aligned(coeffs32, content, cells, ay, ax, W, H)
        return _roboflow_crops(coeffs32, content, cells, rows, cols, W, H)
    if native.available():
        return _ultralytics_crops_native(coeffs32, content, xyxy, rows, cols, W, H)
    if ay is not None and ax is not None:
        return _ultralytics_crops_aligned(coeffs32, content, xyxy, ay, ax, W, H)
    return _ultralytics_crops(coeffs32, content, xyxy, rows, cols, W, H)


def _logits(
    coeff: npt.NDArray[np.float32], content: npt.NDArray[np.float32], rows: AxisTaps, cols: AxisTaps
) -> tuple[npt.NDArray[np.float32], AxisTaps, AxisTaps]:
    """One instance's logits over just the prototype cells its window reads, and the taps
    shifted to index them: the cost is the box's area in cells, not the prototype map's."""
    r0, r1 = rows.source_span()
    c0, c1 = cols.source_span()
    window = content[:, r0:r1, c0:c1]
    logits = (coeff @ window.reshape(len(window), -1)).reshape(r1 - r0, c1 - c0)
    return logits, rows.shifted(r0), cols.shifted(c0)


def box_windows(xyxy: npt.NDArray[np.floating], W: int, H: int) -> npt.NDArray[np.int64]:
    """Pixel (c, r) is inside box (x0, y0, x1, y1) when ceil(x0) <= c < ceil(x1)."""
    win = np.clip(np.ceil(np.asarray(xyxy, dtype=np.float64)), 0, [W, H, W, H]).astype(np.int64)
    win[:, 2:] = np.maximum(win[:, 2:], win[:, :2])
    return win


def row_major(content: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The prototypes as (M, h * w): a block of whole rows is then a plain column slice, and
    an instance's logits over it one vector-matrix product with no copy of the window first
    (the same product, so the same float sums, as over the window alone)."""
    return np.ascontiguousarray(content).reshape(len(content), -1)


def band(
    coeff: npt.NDArray[np.float32], flat: npt.NDArray[np.float32], w: int, rows: slice, cols: slice
) -> npt.NDArray[np.float32]:
    """One instance's logits over prototype cells ``rows`` x ``cols`` of a ``w``-wide map."""
    start, stop = rows.start, rows.stop
    out: npt.NDArray[np.float32] = (coeff @ flat[:, start * w : stop * w]).reshape(stop - start, w)[:, cols]
    return out


def _ultralytics_crops_aligned(
    coeffs: npt.NDArray[np.float32],
    content: npt.NDArray[np.float32],
    xyxy: npt.NDArray[np.floating],
    ay: AlignedAxis,
    ax: AlignedAxis,
    W: int,
    H: int,
) -> MaskCrops:
    """As :func:`_ultralytics_crops`, each box's logits resized by ``cv2.resize`` over an
    aligned window of cells (:mod:`edge.tasks.window_resize`)."""
    win = box_windows(xyxy, W, H)
    flat, cw = row_major(content), content.shape[2]
    crops: list[npt.NDArray[np.bool_]] = []
    for i, (x0, y0, x1, y1) in enumerate(win.tolist()):
        if x1 <= x0 or y1 <= y0:
            crops.append(np.zeros((y1 - y0, x1 - x0), dtype=bool))
            continue
        (r0, r1), (c0, c1) = ay.cells(y0, y1), ax.cells(x0, x1)
        logits = band(coeffs[i], flat, cw, slice(r0, r1), slice(c0, c1))
        crops.append(window_above(logits, ay, ax, Window(y0, y1, x0, x1, r0, c0), 0.0))
    return MaskCrops(win, tuple(crops), W, H)


def _ultralytics_crops_native(
    coeffs: npt.NDArray[np.float32],
    content: npt.NDArray[np.float32],
    xyxy: npt.NDArray[np.floating],
    rows: AxisTaps,
    cols: AxisTaps,
    W: int,
    H: int,
) -> MaskCrops:
    """As :func:`_ultralytics_crops`, each window by the compiled kernel (:mod:`edge.tasks.native`)
    from the logits of the whole prototype rows it reads (a contiguous product, no copy)."""
    win = box_windows(xyxy, W, H)
    flat, cw = row_major(content), content.shape[2]
    crops: list[npt.NDArray[np.bool_]] = []
    for i, (x0, y0, x1, y1) in enumerate(win.tolist()):
        if x1 <= x0 or y1 <= y0:
            crops.append(np.zeros((y1 - y0, x1 - x0), dtype=bool))
            continue
        r0, r1 = int(rows.lo[y0]), int(rows.hi[y1 - 1]) + 1
        logits = band(coeffs[i], flat, cw, slice(r0, r1), slice(0, cw))  # whole rows: contiguous
        crops.append(native.above(logits, (r0, 0), rows, cols, (y0, y1, x0, x1), 0.0))
    return MaskCrops(win, tuple(crops), W, H)


def _ultralytics_crops(
    coeffs: npt.NDArray[np.float32],
    content: npt.NDArray[np.float32],
    xyxy: npt.NDArray[np.floating],
    rows: AxisTaps,
    cols: AxisTaps,
    W: int,
    H: int,
) -> MaskCrops:
    win = box_windows(xyxy, W, H)
    crops: list[npt.NDArray[np.bool_]] = []
    scratch = Scratch()  # one frame's instances share the float work areas
    for i, (x0, y0, x1, y1) in enumerate(win.tolist()):
        if x1 <= x0 or y1 <= y0:
            crops.append(np.zeros((y1 - y0, x1 - x0), dtype=bool))
            continue
        logits, r, c = _logits(coeffs[i], content, rows.window(y0, y1), cols.window(x0, x1))
        crops.append(interpolate_above(logits, r, c, 0.0, scratch))
    return MaskCrops(win, tuple(crops), W, H)


def _proto_boxes(
    xyxy_net: npt.NDArray[np.floating], geometry: Geometry, ph: int, pw: int, content: tuple[int, int, int, int]
) -> npt.NDArray[np.int64]:
    """Boxes in prototype cells of the unpadded map, rounded as inference_models rounds them."""
    scale = np.array([pw / geometry.net_w, ph / geometry.net_h] * 2, dtype=np.float32)
    cells = np.round(np.asarray(xyxy_net, dtype=np.float32) * scale).astype(np.int64)
    cx0, cy0, cx1, cy1 = content
    cells -= [cx0, cy0, cx0, cy0]
    return np.clip(cells, 0, [cx1 - cx0, cy1 - cy0] * 2)


def _reach(taps: AxisTaps, a: int, b: int) -> tuple[int, int]:
    """The output pixels [start, stop) that read any of source cells [a, b): the only ones a
    map that is zero outside those cells can set (elsewhere their weight is below one half)."""
    if a >= b:
        return 0, 0
    start = int(np.searchsorted(taps.hi, a, side="left"))
    stop = int(np.searchsorted(taps.lo, b, side="left"))
    return start, max(stop, start)


def _roboflow_crops(
    coeffs: npt.NDArray[np.float32],
    content: npt.NDArray[np.float32],
    cells: npt.NDArray[np.int64],
    rows: AxisTaps,
    cols: AxisTaps,
    W: int,
    H: int,
) -> MaskCrops:
    windows = np.zeros((len(coeffs), 4), dtype=np.int64)
    crops: list[npt.NDArray[np.bool_]] = []
    scratch = Scratch()
    for i, (ax, ay, bx, by) in enumerate(cells.tolist()):
        x0, x1 = _reach(cols, ax, bx)
        y0, y1 = _reach(rows, ay, by)
        windows[i] = (x0, y0, x1, y1)
        if x1 <= x0 or y1 <= y0:
            crops.append(np.zeros((y1 - y0, x1 - x0), dtype=bool))
            continue
        r, c = rows.window(y0, y1), cols.window(x0, x1)
        logits, rs, cs = _logits(coeffs[i], content, r, c)
        (r0, _), (c0, _) = r.source_span(), c.source_span()
        probs = np.zeros_like(logits)  # zero outside the box's cells, as inference_models crops
        ys, xs = slice(max(ay - r0, 0), max(by - r0, 0)), slice(max(ax - c0, 0), max(bx - c0, 0))
        probs[ys, xs] = np.float32(1.0) / (np.float32(1.0) + np.exp(-logits[ys, xs]))
        crops.append(interpolate_above(probs, rs, cs, 0.5, scratch))
    return MaskCrops(windows, tuple(crops), W, H)


def _box_probs(
    coeff: npt.NDArray[np.float32],
    flat: npt.NDArray[np.float32],
    cw: int,
    cells: tuple[int, int, int, int],
    box: tuple[int, int, int, int],
) -> npt.NDArray[np.float32]:
    """The sigmoid over prototype cells ``cells = (r0, r1, c0, c1)`` of a ``cw``-wide map, zero
    outside the box's cells ``box = (x0, y0, x1, y1)``, as inference_models crops."""
    r0, r1, c0, c1 = cells
    bx0, by0, bx1, by1 = box
    probs = np.zeros((r1 - r0, c1 - c0), dtype=np.float32)
    ys = slice(max(by0 - r0, 0), max(min(by1, r1) - r0, 0))
    xs = slice(max(bx0 - c0, 0), max(min(bx1, c1) - c0, 0))
    logits = band(coeff, flat, cw, slice(r0 + ys.start, r0 + ys.stop), slice(c0 + xs.start, c0 + xs.stop))
    probs[ys, xs] = np.float32(1.0) / (np.float32(1.0) + np.exp(-logits))
    return probs


def _roboflow_crops_native(
    coeffs: npt.NDArray[np.float32],
    content: npt.NDArray[np.float32],
    cells: npt.NDArray[np.int64],
    rows: AxisTaps,
    cols: AxisTaps,
    W: int,
    H: int,
) -> MaskCrops:
    """As :func:`_roboflow_crops`, each window by the compiled kernel (:mod:`edge.tasks.native`)."""
    windows = np.zeros((len(coeffs), 4), dtype=np.int64)
    crops: list[npt.NDArray[np.bool_]] = []
    flat, cw = row_major(content), content.shape[2]
    for i, (bx0, by0, bx1, by1) in enumerate(cells.tolist()):
        x0, x1 = _reach(cols, bx0, bx1)
        y0, y1 = _reach(rows, by0, by1)
        windows[i] = (x0, y0, x1, y1)
        if x1 <= x0 or y1 <= y0:
            crops.append(np.zeros((y1 - y0, x1 - x0), dtype=bool))
            continue
        r0, r1 = int(rows.lo[y0]), int(rows.hi[y1 - 1]) + 1
        c0, c1 = int(cols.lo[x0]), int(cols.hi[x1 - 1]) + 1
        probs = _box_probs(coeffs[i], flat, cw, (r0, r1, c0, c1), (bx0, by0, bx1, by1))
        crops.append(native.above(probs, (r0, c0), rows, cols, (y0, y1, x0, x1), 0.5))
    return MaskCrops(windows, tuple(crops), W, H)


def _roboflow_crops_aligned(
    coeffs: npt.NDArray[np.float32],
    content: npt.NDArray[np.float32],
    cells: npt.NDArray[np.int64],
    ay: AlignedAxis,
    ax: AlignedAxis,
    W: int,
    H: int,
) -> MaskCrops:
    """As :func:`_roboflow_crops`, each box's probabilities resized by ``cv2.resize`` over an
    aligned window of cells (:mod:`edge.tasks.window_resize`)."""
    windows = np.zeros((len(coeffs), 4), dtype=np.int64)
    crops: list[npt.NDArray[np.bool_]] = []
    flat, cw = row_major(content), content.shape[2]
    for i, (bx0, by0, bx1, by1) in enumerate(cells.tolist()):
        x0, x1 = _reach(ax.taps, bx0, bx1)
        y0, y1 = _reach(ay.taps, by0, by1)
        windows[i] = (x0, y0, x1, y1)
        if x1 <= x0 or y1 <= y0:
            crops.append(np.zeros((y1 - y0, x1 - x0), dtype=bool))
            continue
        (r0, r1), (c0, c1) = ay.cells(y0, y1), ax.cells(x0, x1)
        probs = _box_probs(coeffs[i], flat, cw, (r0, r1, c0, c1), (bx0, by0, bx1, by1))
        crops.append(window_above(probs, ay, ax, Window(y0, y1, x0, x1, r0, c0), 0.5))
    return MaskCrops(windows, tuple(crops), W, H)
