"""Bilinear resampling of any window of a resize, with the taps ``cv2.resize`` uses.

``cv2.resize(src, (W, H), interpolation=INTER_LINEAR)`` samples output pixel ``d`` of an
axis at source position ``(d + 0.5) * (src/dst) - 0.5`` (pixel centres), clamped at the
borders, and blends the two neighbouring source pixels: rows first along x, then along y,
in float32. :func:`linear_taps` reproduces that table for one axis, so a window of the
output (an instance's box) can be computed from the few source pixels it reads, giving the
pixels the whole-image resize would give there (up to the last bit of a fused multiply-add),
at the cost of the window's area instead of the image's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError


@dataclass(frozen=True)
class AxisTaps:
    """Output pixel ``i`` of an axis is ``src[lo[i]] * w0[i] + src[hi[i]] * w1[i]``."""

    lo: npt.NDArray[np.intp]
    hi: npt.NDArray[np.intp]
    w0: npt.NDArray[np.float32]
    w1: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        n = len(self.lo)
        if not (len(self.hi) == len(self.w0) == len(self.w1) == n):
            raise EdgeError(f"axis taps need equal lengths, got {len(self.hi)}, {len(self.w0)}, {len(self.w1)}, {n}")

    def __len__(self) -> int:
        return len(self.lo)

    def window(self, start: int, stop: int) -> AxisTaps:
        return AxisTaps(self.lo[start:stop], self.hi[start:stop], self.w0[start:stop], self.w1[start:stop])

    def window_at(self, index: npt.NDArray[np.intp]) -> AxisTaps:
        """The taps of the output pixels at ``index`` (any order, repeats allowed)."""
        return AxisTaps(self.lo[index], self.hi[index], self.w0[index], self.w1[index])

    def shifted(self, by: int) -> AxisTaps:
        """The same taps reading a source array that starts ``by`` pixels later."""
        return AxisTaps(self.lo - by, self.hi - by, self.w0, self.w1)

    def source_span(self) -> tuple[int, int]:
        """The [first, last + 1) source pixels these taps read; (0, 0) when empty."""
        if not len(self.lo):
            return 0, 0
        return int(self.lo[0]), int(self.hi[-1]) + 1


def linear_taps(src_len: int, dst_len: int) -> AxisTaps:
    """The taps of ``cv2.resize(..., INTER_LINEAR)`` along an axis resized src_len -> dst_len."""
    if src_len <= 0 or dst_len <= 0:
        raise EdgeError(f"resize lengths must be positive, got {src_len} -> {dst_len}")
    scale = 1.0 / (dst_len / src_len)  # OpenCV's scale_x = 1 / inv_scale_x, in double
    pos = ((np.arange(dst_len, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    lo_f = np.floor(pos)
    frac = (pos - lo_f).astype(np.float32)
    lo = lo_f.astype(np.intp)
    edge = (lo < 0) | (lo >= src_len - 1)  # clamped to the border pixel with weight 1
    lo = np.clip(lo, 0, src_len - 1)
    frac[edge] = 0.0
    hi = np.minimum(lo + 1, src_len - 1)
    return AxisTaps(lo, hi, (np.float32(1.0) - frac).astype(np.float32), frac)


def interpolate(src: npt.NDArray[np.float32], rows: AxisTaps, cols: AxisTaps) -> npt.NDArray[np.float32]:
    """The (len(rows), len(cols)) output window read from ``src`` (2-D float32) by the taps.

    Horizontal pass first, then vertical, each ``a * w0 + b * w1`` in float32, as OpenCV does.
    """
    r0, r1 = rows.source_span()
    rows_used = src[r0:r1]
    horiz = rows_used[:, cols.lo] * cols.w0 + rows_used[:, cols.hi] * cols.w1
    lo, hi = rows.lo - r0, rows.hi - r0
    return np.asarray(horiz[lo] * rows.w0[:, None] + horiz[hi] * rows.w1[:, None], dtype=np.float32)


class Scratch:
    """Two reusable float32 work areas for :func:`interpolate_above`, grown on demand: one
    frame's instances share them instead of allocating window-sized temporaries each."""

    def __init__(self) -> None:
        self._a = np.empty(0, dtype=np.float32)
        self._b = np.empty(0, dtype=np.float32)

    def pair(self, h: int, w: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        if self._a.size < h * w:
            self._a = np.empty(h * w, dtype=np.float32)
            self._b = np.empty(h * w, dtype=np.float32)
        return self._a[: h * w].reshape(h, w), self._b[: h * w].reshape(h, w)


def interpolate_above(
    src: npt.NDArray[np.float32], rows: AxisTaps, cols: AxisTaps, threshold: float, scratch: Scratch
) -> npt.NDArray[np.bool_]:
    """``interpolate(src, rows, cols) > threshold``: the same pixels, with the vertical pass
    (the big one: the window's area) written into ``scratch`` rather than five temporaries.

    For a threshold of 0 the sum is not formed: with IEEE arithmetic ``fl(p + q) > 0`` exactly
    when ``p > -q`` (rounding keeps the sign and never turns a non-zero sum into 0; NaN and
    infinities compare false both ways), so ``fl(a * w0) > fl(b * -w1)`` gives the same bits.
    """
    r0, r1 = rows.source_span()
    rows_used = src[r0:r1]
    horiz = rows_used[:, cols.lo] * cols.w0 + rows_used[:, cols.hi] * cols.w1
    a, b = scratch.pair(len(rows), len(cols))
    np.take(horiz, rows.lo - r0, axis=0, out=a, mode="clip")  # "raise" with out= buffers a copy
    np.take(horiz, rows.hi - r0, axis=0, out=b, mode="clip")
    np.multiply(a, rows.w0[:, None], out=a)
    out: npt.NDArray[np.bool_]
    if threshold == 0.0:
        np.multiply(b, -rows.w1[:, None], out=b)
        out = np.greater(a, b)
        return out
    np.multiply(b, rows.w1[:, None], out=b)
    np.add(a, b, out=a)
    out = np.greater(a, np.float32(threshold))
    return out
