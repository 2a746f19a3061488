"""The threads that draw and encode pictures run at the lowest normal priority (nice 19).

Why not SCHED_IDLE: on a device whose cores inference keeps busy, an idle-class thread may
not run for seconds, and the page (or a Home Assistant camera) would freeze with requests
piling up behind the encode they wait for. Nice 19 has a CFS weight of 15 against 1024 for
the pipeline's nice 0, so a picture still comes (an encode of a few ms takes a few hundred ms
of wall time on a saturated core) and costs inference about 1.5 % of a contended core at most.
The HTTP loop itself stays at the server's nice +4 (edge/serve/server.py): it also answers the
v1 inference route and must refuse overload (503) quickly; it only parses and routes here.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from edge.web.load import WebCpu

PICTURE_NICE = 19
PICTURE_THREADS = 4  # encodes of different variants at once; requests of one variant wait for its encode


def nice_this_thread(nice: int = PICTURE_NICE) -> None:
    """Set the calling thread's nice value to at least ``nice`` (Linux: per thread, no privilege
    needed to lower a priority; raising it back would need one, so it only goes one way)."""
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, min(19, nice))
    except (OSError, AttributeError):  # not Linux, or not allowed: the thread keeps its priority
        pass


def picture_executor(cpu: WebCpu, threads: int = PICTURE_THREADS) -> ThreadPoolExecutor:
    """A pool for latest.jpg's draws and encodes, its threads niced and their CPU counted."""

    def start() -> None:
        nice_this_thread()
        cpu.sample()  # the thread's CPU is counted from here

    return ThreadPoolExecutor(threads, thread_name_prefix="edge-picture", initializer=start)
