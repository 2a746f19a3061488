"""Keep numpy's BLAS to one thread while the pipeline runs.

The pipeline is parallel already (a thread per stream and per stage) and ONNX Runtime uses
every core for each inference. The decoders' matrix products are tiny (mask coefficients x
prototypes); letting OpenBLAS start its own threads for them makes them fight ONNX Runtime's
threads for the cores: measured on 2 cores, instance-segmentation postprocessing took 17 ms
a frame with OpenBLAS threads and 2.4 ms without. ``OPENBLAS_NUM_THREADS`` only works
before numpy is imported, so this sets the count at run time, as threadpoolctl does.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

log = logging.getLogger("edge.pipeline")

# numpy's wheels bundle scipy-openblas (prefixed, 64-bit integers); distributions ship plain OpenBLAS.
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")


def _loaded_openblas() -> list[str]:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: leave BLAS as it is
        return []
    return sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and "/" in line})


def limit_blas_threads(threads: int = 1) -> int:
    """Set every loaded OpenBLAS to ``threads`` threads; returns how many libraries were set."""
    done = 0
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                done += 1
                break
    if not done:
        log.debug("no OpenBLAS loaded: BLAS threads left as they are")
    return done
