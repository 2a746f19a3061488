"""Let glibc reuse the pipeline's large per-frame buffers instead of mapping fresh pages.

Every frame allocates a few buffers of one to tens of megabytes (the decoded frame, the
network-size canvas, the float tensor, the model's outputs, full-size masks). glibc serves
allocations above its mmap threshold with a fresh ``mmap`` and returns them with ``munmap``
on free, so each frame page-faults its buffers in again. The threshold adapts upwards only
past a buffer strictly larger than the last one freed, so a steady stream of equal-size
frames never leaves the slow path: measured here, packing a 640x640 tensor took 2.5 ms that
way and 0.47 ms from reused heap memory. Raising the threshold keeps such buffers in the
heap, where freed memory is reused by the next frame.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("edge.pipeline")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Above the usual per-frame buffers (a 4K frame is 24 MiB) and within the 32 MiB that every
# 64-bit glibc accepts (older ones refuse more than half their 64 MiB arena heap size).
MMAP_THRESHOLD = 32 << 20
# Give memory back to the system only when this much is free at the heap's top, so buffers
# freed between two frames stay for the next one.
TRIM_THRESHOLD = 128 << 20


def keep_large_buffers() -> bool:
    """Raise glibc's mmap and trim thresholds; False (and nothing changed) without glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        log.debug("no glibc mallopt: allocator left as it is")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
