"""The process's own peak memory, for the bench's children.

``ru_maxrss`` is carried over ``exec``: a child started by a large process (the test runner,
a bench parent holding a model) reports at least its parent's size at the fork. The kernel's
``VmHWM`` (high-water mark of the resident set) in ``/proc/self/status`` starts afresh with
the new program, so it is what a child reads; ``ru_maxrss`` only where there is no /proc.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb(status: Path = Path("/proc/self/status")) -> float:
    """Peak resident memory of this process in MB (MiB)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
