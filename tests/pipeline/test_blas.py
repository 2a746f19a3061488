from __future__ import annotations

import ctypes

import numpy as np

from edge.pipeline.blas import _loaded_openblas, limit_blas_threads


def _getter() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    lib = ctypes.CDLL(_loaded_openblas()[0])
    for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
        if hasattr(lib, name):
            fn = getattr(lib, name)
            fn.restype = ctypes.c_int
            return fn
    raise AssertionError("no OpenBLAS thread getter")


def test_numpy_openblas_is_limited_at_run_time() -> None:
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy and its OpenBLAS are loaded
    assert _loaded_openblas(), "numpy's wheel ships OpenBLAS; this test expects it"
    get = _getter()
    before = get()
    try:
        assert limit_blas_threads(1) >= 1
        assert get() == 1
    finally:
        limit_blas_threads(before)
