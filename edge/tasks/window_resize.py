"""A window of a whole-map ``cv2.resize`` thresholded, from ``cv2.resize`` of the cells under it.

``cv2.resize(src, (W, H), INTER_LINEAR)`` places output pixel ``d`` at source position
``(d + 0.5) / s - 0.5`` with ``s = W / w`` (pixels per cell). When ``s`` is a ratio ``p / q``
of small integers, a window of source cells starting at a multiple of ``q`` starts at output
pixel ``s * start``, an integer, and a resize of that window alone by the same ratio places its
output pixels at the same positions less ``start``: the same two cells with nearly the same
weights, except where it clamps at the window's own edges and the whole map would not. So the
window taken holds every cell the wanted pixels read, rounded out to ``q``, and only those
pixels are kept. At the map's own edges both clamp alike.

This is what makes mask assembly cheap: OpenCV's resize does both passes in one SIMD sweep
over the output, where the numpy taps of :mod:`edge.tasks.resample` take five. For the scales
a 640 model meets on common cameras (1280x720 and 640x480: 8 and 4 pixels per cell; 1920x1080:
12; 3840x2160: 24; 2592x1944: 81/5) ``q`` is small; for odd frame sizes it is not, and
:func:`plan_axis` returns None so the caller keeps the numpy taps.

"Nearly": the whole map's positions are float32, rounded at their own magnitude, and the
window's at theirs, and OpenCV may fuse a multiply-add. A value moves by at most a few of the
largest position's ulps times the values' size (:func:`_tolerance`), so only a pixel that close
to the threshold can come out differently; :func:`window_above` finds those few (two
comparisons) and recomputes them with the whole map's own taps, so the mask is the one the
numpy taps give, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.tasks.resample import AxisTaps

# A window is widened by up to 2 * (MAX_BLOCK - 1) cells to start and end on a block: past
# this the extra work outweighs the faster resize, and the numpy taps are used instead.
MAX_BLOCK = 8


@dataclass(frozen=True)
class AlignedAxis:
    """One axis resized ``src`` cells -> ``dst`` pixels, ``dst / src == p / q`` in lowest terms."""

    src: int
    dst: int
    p: int
    q: int
    taps: AxisTaps  # the whole map's taps along this axis (which cells each pixel reads)

    def __post_init__(self) -> None:
        if Fraction(self.dst, self.src) != Fraction(self.p, self.q) or len(self.taps) != self.dst:
            raise EdgeError(f"an aligned axis needs dst/src == p/q and dst taps, got {self.dst}/{self.src}")

    def cells(self, start: int, stop: int) -> tuple[int, int]:
        """The source cells [s0, s1) to resize for output pixels [start, stop) (stop > start):
        what those pixels read, out to multiples of ``q``, within the map. The window's own
        resize clamps a pixel only where it reads before the window's first cell or from its
        last (``lo >= len - 1``): none of the wanted ones, whose ``hi`` is inside."""
        first = int(self.taps.lo[start])
        last = int(self.taps.hi[stop - 1]) + 1
        s0 = max(0, first // self.q * self.q)
        s1 = min(self.src, -(-last // self.q) * self.q)
        return s0, s1

    @property
    def exact(self) -> bool:
        """Whether every output pixel's source position is exact in float32 (p a power of two)."""
        return self.p & (self.p - 1) == 0

    def pixels(self, s0: int, s1: int) -> tuple[int, int]:
        """The output pixels [o0, o1) that source cells [s0, s1) (multiples of q) resize to."""
        return s0 * self.p // self.q, s1 * self.p // self.q


def plan_axis(src: int, dst: int, taps: AxisTaps) -> AlignedAxis | None:
    """The axis's alignment, or None when its block is too large to be worth it."""
    ratio = Fraction(dst, src)
    if ratio.denominator > MAX_BLOCK:
        return None
    return AlignedAxis(src, dst, ratio.numerator, ratio.denominator, taps)


@dataclass(frozen=True)
class Window:
    """Output pixels [y0, y1) x [x0, x1) wanted from values given over cells [r0, ..) x [c0, ..)."""

    y0: int
    y1: int
    x0: int
    x1: int
    r0: int
    c0: int


def _tolerance(ay: AlignedAxis, ax: AlignedAxis, values: npt.NDArray[np.float32]) -> float:
    """How far a window resize's value can be from the whole map's. Where both axes have a
    power-of-two ``p`` every position is exact in float32 on both sides, and only OpenCV's
    arithmetic differs (a fused multiply-add, the order of a sum): a few float32 ulps of the
    values' size (2.1e-7 of it seen on the large crowd). Otherwise each position is rounded to
    half an ulp of the largest one (both sides: one ulp in a weight), which moves a blend by at
    most twice the largest value, in each of two passes. Four times the bound, to be safe."""
    size = float(cv2.norm(values, cv2.NORM_INF)) if values.size else 0.0
    rounding = 16 * 2.0**-24
    if ay.exact and ax.exact:
        return 4.0 * size * rounding
    ulp = 2.0 ** (max(ay.src, ax.src).bit_length() - 23)
    return 4.0 * size * (2 * 2 * (ulp + 2.0**-24) + rounding)


def window_above(
    values: npt.NDArray[np.float32], ay: AlignedAxis, ax: AlignedAxis, w: Window, threshold: float
) -> npt.NDArray[np.bool_]:
    """``resize(map) > threshold`` over window ``w``, where ``values`` holds the map over the
    cells :meth:`AlignedAxis.cells` gave for it (starting at ``w.r0, w.c0``)."""
    (oy, oy1), (ox, ox1) = ay.pixels(w.r0, w.r0 + values.shape[0]), ax.pixels(w.c0, w.c0 + values.shape[1])
    resized = cv2.resize(values, (ox1 - ox, oy1 - oy), interpolation=cv2.INTER_LINEAR)
    tol = _tolerance(ay, ax, values)
    # Compared whole (contiguous: twice as fast as through the window's strides), then cut.
    above, below = resized > np.float32(threshold + tol), resized > np.float32(threshold - tol)
    cut = (slice(w.y0 - oy, w.y1 - oy), slice(w.x0 - ox, w.x1 - ox))
    out: npt.NDArray[np.bool_] = np.ascontiguousarray(above[cut])
    close = np.not_equal(out, below[cut])  # the pixels too close to call; contiguous, so any() is quick
    if close.any():
        ys, xs = np.divmod(np.flatnonzero(close), close.shape[1])
        out[ys, xs] = _exact_above(values, ay.taps, ax.taps, ys + w.y0, xs + w.x0, w, threshold)
    return out


def _exact_above(
    values: npt.NDArray[np.float32],
    rows: AxisTaps,
    cols: AxisTaps,
    ys: npt.NDArray[np.intp],
    xs: npt.NDArray[np.intp],
    w: Window,
    threshold: float,
) -> npt.NDArray[np.bool_]:
    """Pixels (ys, xs) of the map as :func:`edge.tasks.resample.interpolate` makes them
    (horizontal pass, then vertical, each product and sum rounded to float32), thresholded."""
    lo_r, hi_r = rows.lo[ys] - w.r0, rows.hi[ys] - w.r0
    lo_c, hi_c = cols.lo[xs] - w.c0, cols.hi[xs] - w.c0
    w0c, w1c = cols.w0[xs], cols.w1[xs]
    top = values[lo_r, lo_c] * w0c + values[lo_r, hi_c] * w1c
    bottom = values[hi_r, lo_c] * w0c + values[hi_r, hi_c] * w1c
    blended = top * rows.w0[ys] + bottom * rows.w1[ys]
    above: npt.NDArray[np.bool_] = blended > np.float32(threshold)
    return above
