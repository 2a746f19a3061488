from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

# Threads that allocate at the same time, then glibc's own count of its arenas (malloc_info).
# A fresh interpreter each time: arenas, once made, stay for the life of a process.
_PROBE = textwrap.dedent("""\
    import ctypes, sys, threading
    import numpy as np
    from edge.pipeline.allocator import limit_malloc_arenas
    if sys.argv[1] == "limit":
        assert limit_malloc_arenas()
    def work():
        for _ in range(50):
            buffers = [np.ones(200_000, np.uint8) for _ in range(10)]
            del buffers
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    fp = ctypes.c_void_p(libc.fopen(sys.argv[2].encode(), b"w"))
    libc.malloc_info(0, fp)
    libc.fclose(fp)
""")


def _arenas(tmp_path: Path, mode: str) -> int:
    report = tmp_path / f"{mode}.xml"
    subprocess.run([sys.executable, "-c", _PROBE, mode, str(report)], check=True, timeout=60)
    return len(re.findall(r'<heap nr="\d+">', report.read_text()))


def test_pipeline_threads_share_one_malloc_arena(tmp_path: Path) -> None:
    assert _arenas(tmp_path, "limit") == 1
    assert _arenas(tmp_path, "default") > 2  # the probe does make glibc open more without the cap
