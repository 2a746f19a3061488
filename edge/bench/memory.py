"""The process's own peak memory, for the bench's children.

``ru_maxrss`` is carried over ``exec``: a child started by a large process (the test runner,
a bench parent holding a model) reports at least its parent's size at the fork. The kernel's
``VmHWM`` (high-water mark of the resident set) in ``/proc/self/status`` starts afresh with
the new program, so it is what a child reads; ``ru_maxrss`` only where there is no /proc.

``VmHWM`` also counts the pages of shared libraries (OpenCV, ONNX Runtime, FFmpeg) that the
process has mapped and that are in the page cache, and how many of those are resident depends
on the page cache's state, not on edge: the same pipeline peaked at 286 and at 326 MB from two
virtual environments on one disk, its anonymous memory 219 and 213 MB, because OpenCV's library
had 8 MB resident in one and 28 MB in the other (its file held in larger pages). So the
bench also samples the anonymous part (``RssAnon``: the heap, the arenas, the frames, what the
process itself allocated) and reports its highest value beside the high-water mark.
"""

from __future__ import annotations

import resource
import threading
from pathlib import Path
from types import TracebackType

STATUS = Path("/proc/self/status")


def _status_kb(status: Path, *keys: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in status.read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in keys:
                out[key] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return out


def peak_rss_mb(status: Path = STATUS) -> float:
    """Peak resident memory of this process in MB (MiB)."""
    hwm = _status_kb(status, "VmHWM").get("VmHWM")
    if hwm is not None:
        return hwm / 1024.0  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def anon_rss_mb(status: Path = STATUS) -> float:
    """This process's anonymous resident memory now, in MB; 0 where /proc does not say."""
    return _status_kb(status, "RssAnon").get("RssAnon", 0) / 1024.0


class AnonPeak:
    """The highest ``RssAnon`` seen while the block runs, sampled every ``period_s`` on a thread
    (reading /proc/self/status takes ~20 microseconds; at 10 ms that is 0.2 % of one core)."""

    def __init__(self, period_s: float = 0.01, status: Path = STATUS) -> None:
        self.peak_mb = 0.0
        self._period, self._status = period_s, status
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-anon-peak", daemon=True)

    def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, anon_rss_mb(self._status))
            if self._stop.wait(self._period):
                return

    def __enter__(self) -> AnonPeak:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, anon_rss_mb(self._status))
