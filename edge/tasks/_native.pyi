# The compiled kernels of edge/tasks/_native.c; edge/tasks/native.py is their typed front.
import numpy as np
import numpy.typing as npt

_Taps = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float32], npt.NDArray[np.float32]]

def above(
    values: npt.NDArray[np.float32],
    row0: int,
    col0: int,
    rows: _Taps,
    cols: _Taps,
    window: tuple[int, int, int, int],
    threshold: float,
    out: npt.NDArray[np.bool_],
    /,
) -> None: ...
def crop_rle(crop: npt.NDArray[np.bool_], x0: int, y0: int, width: int, height: int, /) -> str: ...
def field_rle(
    flat: npt.NDArray[np.float32],
    windows: npt.NDArray[np.int64],
    pixel_boxes: npt.NDArray[np.int64],
    grid_w: int,
    grid_h: int,
    width: int,
    height: int,
    /,
) -> list[str]: ...
def points_json(xy: npt.NDArray[np.float64], /) -> bytes | None: ...
def grid_outlines(
    crops: list[npt.NDArray[np.bool_]],
    windows: npt.NDArray[np.int64],
    field: npt.NDArray[np.float32],
    field_windows: npt.NDArray[np.int64],
    pixel_boxes: npt.NDArray[np.int64],
    sx: float,
    sy: float,
    stride: int,
    steps: int,
    reach: float,
    normal_x: npt.NDArray[np.float32],
    normal_y: npt.NDArray[np.float32],
    /,
) -> tuple[bytes, bytes, bytes]: ...
def nms_ranked(boxes: npt.NDArray[np.float64], iou: float, max_keep: int, /) -> bytes: ...
def longest_contours(
    crops: list[npt.NDArray[np.bool_]], windows: npt.NDArray[np.int64], direct: bool, /
) -> tuple[bytes, bytes]: ...
def grid_rle(
    crops: list[npt.NDArray[np.bool_]],
    windows: npt.NDArray[np.int64],
    col_cell: npt.NDArray[np.int64],
    row_cell: npt.NDArray[np.int64],
    /,
) -> list[str]: ...
