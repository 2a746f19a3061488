"""Class maps from low-resolution logits: bilinear resize to the frame, then argmax.

inference_models (and so the hosted API) resizes the logits bilinearly to the image, takes
the softmax and the argmax. Done whole, that is C float maps at the frame's size (4 classes
at 4K: 530 MB); here the resize uses cv2.resize's taps (:mod:`edge.tasks.resample`) and runs
in bands of rows, and the argmax-only path interpolates only where it can matter.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from edge.tasks.resample import AxisTaps, linear_taps

_BAND_ROWS = 128  # output rows resized at a time: bounds the float work area
_DENSE_ABOVE = 0.2  # share of boundary pixels in a band above which resizing it whole is cheaper


def class_map(logits: npt.NDArray[np.float32], w: int, h: int) -> npt.NDArray[np.uint8]:
    """The argmax class per pixel of the (C, h0, w0) logits resized bilinearly to (h, w).

    A resized pixel's logits are a convex blend of its (up to) four source pixels' logits, so
    where those four share their argmax class the blend has it too (first maximum on ties,
    as argmax). Only pixels whose taps straddle a class boundary are interpolated: the same
    classes as resizing everything, at the cost of the boundaries. A band that is mostly
    boundary (a noisy model) is resized whole instead, which is cheaper there.
    """
    rows, cols = linear_taps(logits.shape[1], h), linear_taps(logits.shape[2], w)
    low = logits.argmax(axis=0).astype(np.uint8)
    ids = np.empty((h, w), dtype=np.uint8)
    horiz: npt.NDArray[np.float32] | None = None
    for y0 in range(0, h, _BAND_ROWS):
        band = rows.window(y0, min(h, y0 + _BAND_ROWS))
        top, bottom = low[band.lo], low[band.hi]
        out = ids[y0 : y0 + len(band)]
        np.take(top, cols.lo, axis=1, out=out)
        mixed = out != np.take(top, cols.hi, axis=1)
        mixed |= out != np.take(bottom, cols.lo, axis=1)
        mixed |= out != np.take(bottom, cols.hi, axis=1)
        if mixed.mean() > _DENSE_ABOVE:
            horiz = _horizontal(logits, cols) if horiz is None else horiz
            _argmax(_vertical(horiz, band), out)
            continue
        ys, xs = np.nonzero(mixed)
        if len(ys):
            out[ys, xs] = _blend(logits, band.window_at(ys), cols.window_at(xs)).argmax(axis=0)
    return ids


def _horizontal(logits: npt.NDArray[np.float32], cols: AxisTaps) -> npt.NDArray[np.float32]:
    """(C, h0, w): every source row resized along x (small: the source has few rows)."""
    return np.asarray(logits[:, :, cols.lo] * cols.w0 + logits[:, :, cols.hi] * cols.w1, dtype=np.float32)


def _argmax(planes: list[npt.NDArray[np.float32]], out: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Write the first-maximum class index of the planes into ``out``; return the maximum.

    Class by class on contiguous planes: numpy's max/argmax over a leading axis of a few
    classes are several times slower than these elementwise passes.
    """
    top: npt.NDArray[np.float32] = planes[0].copy()
    out[:] = 0
    for c in range(1, len(planes)):
        np.copyto(out, np.uint8(c), where=planes[c] > top)  # strict: the first maximum wins
        np.maximum(top, planes[c], out=top)
    return top


def _blend(logits: npt.NDArray[np.float32], rows: AxisTaps, cols: AxisTaps) -> npt.NDArray[np.float32]:
    """(C, k) resized logits at k scattered pixels (rows[i], cols[i]), x first as cv2 does."""
    upper = logits[:, rows.lo, cols.lo] * cols.w0 + logits[:, rows.lo, cols.hi] * cols.w1
    lower = logits[:, rows.hi, cols.lo] * cols.w0 + logits[:, rows.hi, cols.hi] * cols.w1
    return np.asarray(upper * rows.w0 + lower * rows.w1, dtype=np.float32)


def _vertical(horiz: npt.NDArray[np.float32], band: AxisTaps) -> list[npt.NDArray[np.float32]]:
    """One (rows, w) plane per class: the band's output rows blended from their two source rows.

    Upscaled rows come in runs that read the same source pair, so each run is two broadcast
    multiplies written in place (no gathered copies of the source rows).
    """
    n, w = len(band), horiz.shape[2]
    out: list[npt.NDArray[np.float32]] = [np.empty((n, w), dtype=np.float32) for _ in range(len(horiz))]
    tmp = np.empty((n, w), dtype=np.float32)
    starts = np.flatnonzero(np.r_[True, (band.lo[1:] != band.lo[:-1]) | (band.hi[1:] != band.hi[:-1])])
    for s, e in zip(starts.tolist(), [*starts[1:].tolist(), n]):
        lo, hi, w0, w1 = int(band.lo[s]), int(band.hi[s]), band.w0[s:e, None], band.w1[s:e, None]
        for c, plane in enumerate(out):
            np.multiply(w0, horiz[c, lo], out=plane[s:e])
            np.multiply(w1, horiz[c, hi], out=tmp[: e - s])
            plane[s:e] += tmp[: e - s]
    return out


def class_map_with_confidence(
    logits: npt.NDArray[np.float32], w: int, h: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Argmax class and its softmax probability per pixel of the (C, h0, w0) logits resized
    bilinearly to (h, w), as inference_models does (resize logits, softmax, argmax).

    The resize is cv2.resize's (same taps, :mod:`edge.tasks.resample`), done along x once at
    the source's few rows and along y one band of output rows at a time, so the float work
    area is C x band x w instead of C x h x w (4 classes at 4K: 16 MB instead of 530 MB).
    """
    rows, cols = linear_taps(logits.shape[1], h), linear_taps(logits.shape[2], w)
    horiz = _horizontal(logits, cols)
    ids = np.empty((h, w), dtype=np.uint8)
    conf = np.empty((h, w), dtype=np.float32)
    for y0 in range(0, h, _BAND_ROWS):
        band = rows.window(y0, min(h, y0 + _BAND_ROWS))
        y1 = y0 + len(band)
        v = _vertical(horiz, band)
        top = _argmax(v, ids[y0:y1])
        total = np.zeros_like(top)
        for plane in v:
            plane -= top
            total += np.exp(plane, out=plane)
        np.divide(np.float32(1.0), total, out=conf[y0:y1])
    return ids, conf
