"""The compiled kernel against the numpy path it replaces, and its refusals of bad arguments."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import orjson
import pytest

from edge.tasks import native
from edge.tasks.boxes import nms
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.mask_modes import GridMasks
from edge.tasks.resample import AxisTaps, interpolate, linear_taps
from tests.tasks.kernels import require_native

_RAW = native._NATIVE


@pytest.fixture(autouse=True)
def _built() -> None:
    require_native()


# (source cells h, w) -> (output pixels h, w), the threshold, and the output window (y0, y1, x0, x1)
CASES = [
    ((90, 160), (720, 1280), 0.0, (100, 340, 500, 760)),  # 8 px a cell, as a 640 model on 720p
    ((90, 160), (1080, 1920), 0.5, (0, 1080, 1700, 1920)),  # 12 px a cell, to the frame's corner
    ((120, 160), (2160, 3840), 0.0, (2000, 2160, 0, 37)),  # 4K
    ((79, 101), (333, 251), 0.5, (3, 250, 7, 240)),  # odd scales no cv2.resize window aligns to
    ((7, 5), (3, 2), 0.0, (0, 3, 0, 2)),  # downscale
    ((16, 16), (64, 64), 0.0, (10, 10, 5, 20)),  # an empty window
]


def _taps(src: int, dst: int) -> AxisTaps:
    return linear_taps(src, dst)


@pytest.mark.parametrize(("src", "dst", "threshold", "window"), CASES)
def test_above_is_the_numpy_paths_bits(
    src: tuple[int, int], dst: tuple[int, int], threshold: float, window: tuple[int, int, int, int]
) -> None:
    rng = np.random.default_rng(sum(src) + sum(dst))
    values = rng.normal(scale=3.0, size=src).astype(np.float32)
    values[::7, ::5] = threshold  # exactly on the threshold: the comparison is strict
    rows, cols = _taps(src[0], dst[0]), _taps(src[1], dst[1])
    y0, y1, x0, x1 = window
    want = interpolate(values, rows.window(y0, y1), cols.window(x0, x1)) > np.float32(threshold)
    # The kernel reads a sub-array that starts at the window's first cells, as masks.py hands it.
    r0 = int(rows.lo[y0]) if y1 > y0 else 0
    c0 = int(cols.lo[x0]) if x1 > x0 else 0
    got = native.above(np.ascontiguousarray(values[r0:, c0:]), (r0, c0), rows, cols, window, threshold)
    assert got.dtype == np.bool_ and got.shape == (y1 - y0, x1 - x0)
    np.testing.assert_array_equal(got, want)


def test_above_keeps_non_finite_values_as_the_numpy_path_does() -> None:
    values = np.array([[np.nan, 1.0], [np.inf, -np.inf]], dtype=np.float32)
    rows, cols = _taps(2, 6), _taps(2, 6)
    with np.errstate(invalid="ignore"):
        want = interpolate(values, rows, cols) > 0
    np.testing.assert_array_equal(native.above(values, (0, 0), rows, cols, (0, 6, 0, 6), 0.0), want)


def _args(values: npt.NDArray[np.float32], out: npt.NDArray[np.bool_]) -> list[object]:
    rows, cols = _taps(4, 8), _taps(4, 8)
    t = (rows.lo, rows.hi, rows.w0, rows.w1)
    return [values, 0, 0, t, (cols.lo, cols.hi, cols.w0, cols.w1), (0, 8, 0, 8), 0.0, out]


REFUSALS = [
    ("float64 values", lambda a: a.__setitem__(0, a[0].astype(np.float64)), TypeError),
    ("non-contiguous values", lambda a: a.__setitem__(0, np.zeros((4, 8), np.float32)[:, ::2]), ValueError),
    ("a window past the taps", lambda a: a.__setitem__(5, (0, 9, 0, 8)), ValueError),
    ("an output of the wrong size", lambda a: a.__setitem__(7, np.empty((8, 7), bool)), ValueError),
    ("a read-only output", lambda a: a[7].setflags(write=False), ValueError),
    ("values too small for the taps", lambda a: a.__setitem__(0, np.zeros((3, 4), np.float32)), IndexError),
    ("an origin past the values", lambda a: a.__setitem__(1, 2), IndexError),
    ("int32 indices", lambda a: a.__setitem__(3, (a[3][0].astype(np.int32), *a[3][1:])), TypeError),
    ("taps of unequal lengths", lambda a: a.__setitem__(3, (a[3][0][:-1], *a[3][1:])), ValueError),
]


@pytest.mark.parametrize(("name", "spoil", "error"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_above_refuses_arguments_that_would_read_or_write_out_of_bounds(name: str, spoil, error) -> None:  # type: ignore[no-untyped-def]
    args = _args(np.zeros((4, 4), np.float32), np.empty((8, 8), bool))
    _RAW.above(*args)  # the unspoilt call is fine
    spoil(args)
    with pytest.raises(error):
        _RAW.above(*args)


# frame (W, H), crop (w, h) and where it sits; the density of set pixels
RLE_CASES = [
    ((1280, 720), (250, 210), (100, 40), 0.5),
    ((64, 48), (64, 48), (0, 0), 0.6),  # the whole frame: runs go on from one column to the next
    ((64, 48), (10, 48), (54, 0), 1.0),  # full height at the right edge: a run to the frame's end
    ((64, 48), (10, 48), (20, 0), 1.0),  # full height inside: the run ends at the next column
    ((64, 48), (5, 7), (0, 0), 1.0),  # from the frame's first pixel: counts start with 0
    ((64, 48), (0, 9), (3, 3), 0.5),  # an empty crop
    ((64, 48), (9, 9), (3, 3), 0.0),  # nothing set
    ((3, 2), (3, 2), (0, 0), 0.5),
]


@pytest.mark.parametrize(("frame", "size", "at", "density"), RLE_CASES)
def test_crop_rle_is_the_numpy_paths_string(
    frame: tuple[int, int], size: tuple[int, int], at: tuple[int, int], density: float
) -> None:
    from edge.tasks.rle import counts_to_string, encode_crop

    rng = np.random.default_rng(sum(frame) + sum(size))
    for _ in range(20):
        crop = rng.random((size[1], size[0])) < density
        want = counts_to_string(encode_crop(crop, at[0], at[1], frame[0], frame[1]).counts)
        assert native.crop_rle(crop, at[0], at[1], frame[0], frame[1]) == want


@pytest.mark.parametrize(
    ("shape", "at", "frame", "error"),
    [
        ((4, 4), (61, 0), (64, 48), ValueError),  # past the frame's right edge
        ((4, 4), (0, -1), (64, 48), ValueError),
        ((4, 4), (0, 0), (0, 48), ValueError),
        ((2, 2, 2), (0, 0), (64, 48), ValueError),
    ],
)
def test_crop_rle_refuses_a_crop_outside_its_frame(
    shape: tuple[int, ...], at: tuple[int, int], frame: tuple[int, int], error: type[Exception]
) -> None:
    with pytest.raises(error):
        _RAW.crop_rle(np.ones(shape, bool), at[0], at[1], frame[0], frame[1])
    with pytest.raises(TypeError):
        _RAW.crop_rle(np.ones((2, 2), np.int32), 0, 0, 4, 4)


WHOLE = [np.zeros((0, 2)), np.array([[0.0, 0.0]]), np.array([[2.0**31 - 1, 7.0], [1279.0, 719.0], [10.0, 100.0]])]


@pytest.mark.parametrize("xy", [*WHOLE, np.random.default_rng(1).integers(0, 4000, (5000, 2)).astype(np.float64)])
def test_points_json_is_orjsons_bytes(xy: npt.NDArray[np.float64]) -> None:
    dicts = [{"x": float(x), "y": float(y)} for x, y in xy]
    assert native.points_json(xy) == orjson.dumps(dicts)


@pytest.mark.parametrize("bad", [0.5, -1.0, -0.0, np.nan, np.inf, 2.0**31, 1e300])
def test_points_json_leaves_anything_but_whole_pixels_to_the_general_path(bad: float) -> None:
    assert native.points_json(np.array([[3.0, 4.0], [bad, 1.0]])) is None


def test_points_json_needs_pairs_of_float64() -> None:
    with pytest.raises(ValueError, match="pairs"):
        _RAW.points_json(np.zeros(3))
    with pytest.raises(TypeError):
        _RAW.points_json(np.zeros((2, 2), np.float32))


@pytest.mark.parametrize(
    ("seed", "n", "grid", "iou", "max_keep"),
    [
        (0, 300, 0.0, 0.7, 300),  # a crowd at the usual overlap
        (1, 900, 20.0, 0.45, 300),  # boxes on a 20 px grid: duplicates and equal IoUs
        (2, 600, 0.0, 0.0, 300),  # any overlap suppresses
        (3, 600, 0.0, 1.0, 300),  # nothing does (IoU is at most 1)
        (4, 50, 0.0, 0.5, 1),
        (5, 50, 0.0, 0.5, 0),
        (6, 200, 0.0, 0.5, 300),  # with zero-area boxes
    ],
)
def test_the_compiled_nms_keeps_what_the_numpy_path_keeps(
    monkeypatch: pytest.MonkeyPatch, seed: int, n: int, grid: float, iou: float, max_keep: int
) -> None:
    rng = np.random.default_rng(seed)
    lt, wh = rng.uniform(0, 500, (n, 2)), rng.uniform(2, 150, (n, 2))
    if seed == 6:
        wh[::4] = 0.0
    xyxy = np.concatenate([lt, lt + wh], axis=1)
    if grid:
        xyxy = np.round(xyxy / grid) * grid
    scores = np.round(rng.random(n), 1).astype(np.float32)  # ties: the ranking must stay stable
    cls = rng.integers(0, 3, n)
    got = nms(xyxy, scores, cls, iou, max_keep)
    assert native.available()
    monkeypatch.setattr(native, "_NATIVE", None)
    np.testing.assert_array_equal(got, nms(xyxy, scores, cls, iou, max_keep))


@pytest.mark.parametrize(
    ("boxes_arg", "max_keep", "error"),
    [
        (np.zeros((3, 3)), 5, ValueError),  # not (k, 4)
        (np.zeros((3, 4), dtype=np.float32), 5, TypeError),
        (np.zeros((3, 4)), -1, ValueError),
    ],
)
def test_the_compiled_nms_refuses_bad_arguments(
    boxes_arg: npt.NDArray[np.floating], max_keep: int, error: type[Exception]
) -> None:
    assert _RAW is not None
    with pytest.raises(error):
        _RAW.nms_ranked(boxes_arg, 0.5, max_keep)


@pytest.mark.parametrize(("gw", "gh", "W", "H"), [(160, 90, 1280, 720), (400, 225, 1280, 720), (37, 23, 101, 67)])
def test_grid_rle_is_the_numpy_paths_string(gw: int, gh: int, W: int, H: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(gw)
    windows, crops = [], []
    for _ in range(40):
        w, h = int(rng.integers(0, gw // 2)), int(rng.integers(0, gh // 2))
        x0, y0 = int(rng.integers(0, gw - w + 1)), int(rng.integers(0, gh - h + 1))
        windows.append((x0, y0, x0 + w, y0 + h))
        crops.append(rng.random((h, w)) < rng.choice([0.0, 0.3, 0.9, 1.0]))
    grid = GridMasks(MaskCrops(np.array(windows, dtype=np.int64), tuple(crops), gw, gh), W, H)
    got = grid.rle_strings()
    monkeypatch.setattr(native, "_NATIVE", None)
    assert got == grid.rle_strings()


def _grid_rle_args() -> list[object]:
    return [[np.ones((2, 3), bool)], np.array([[0, 0, 3, 2]], dtype=np.int64), np.arange(8) // 2, np.arange(6) // 2]


@pytest.mark.parametrize(
    ("at", "value", "error"),
    [
        (0, [np.ones((3, 3), bool)], ValueError),  # not the window's shape
        (1, np.array([[0, 0, 3]], dtype=np.int64), ValueError),
        (2, np.array([0, 1, 0, 1]), ValueError),  # a map that goes back
        (3, np.zeros(0, dtype=np.int64), ValueError),  # no frame rows
        (3, np.arange(6, dtype=np.float64), TypeError),
    ],
)
def test_grid_rle_refuses_bad_arguments(at: int, value: object, error: type[Exception]) -> None:
    assert _RAW is not None
    args = _grid_rle_args()
    args[at] = value
    with pytest.raises(error):
        _RAW.grid_rle(*args)
