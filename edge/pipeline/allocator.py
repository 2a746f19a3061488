"""Let the pipeline's threads share one malloc arena instead of one each.

glibc gives a thread its own arena when another thread holds the one it would use, up to
eight per core. Each arena keeps the memory freed in it for that arena's later use, so a
pipeline (a capture thread per stream, three stages per model, ONNX Runtime's pool) ends up
holding several copies of its per-frame buffers. Measured with ``edge bench`` on 2 cores, one
stream of a yolov8n-size detector at 640x640: peak memory 241 MB with glibc's defaults and 212
MB with two arenas, at the same frames/s (malloc is a small share of each frame's work). One
arena (2026-12-04, `edge bench --crowd-large`, one stream of the large-object crowd): peak 315
-> 297 MB, at the same frames/s (23.4 against 23.7, within the runs' noise; `edge bench`'s four
fixture streams alike): the threads that allocate are mostly Python's, one at a time under the
GIL, so one arena costs no waiting, and the memory one stage frees is the next one's to reuse.
Arenas are picked when a thread first allocates, so this is called before the pipeline's
threads start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("edge.pipeline")

_M_ARENA_MAX = -8
ARENAS = 1


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; False (and nothing changed) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        log.debug("no glibc mallopt: malloc arenas left as they are")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
