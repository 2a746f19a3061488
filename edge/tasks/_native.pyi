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
def points_json(xy: npt.NDArray[np.float64], /) -> bytes | None: ...
