"""What a server library adds on a device: installed size, import time, start-up to listening.

    python tools/http_footprint.py

Compares the stack edge uses (starlette + uvicorn with h11 + python-multipart) with aiohttp,
both with prometheus-client. Each import and start-up is timed in a fresh interpreter, the
median of five. Both stacks must be installed (``pip install aiohttp`` for the comparison).
"""

from __future__ import annotations

import importlib.metadata as md
import statistics
import subprocess
import sys
from pathlib import Path

STACKS = {
    "starlette + uvicorn (h11) + python-multipart": (
        ["starlette", "uvicorn", "h11", "click", "anyio", "idna", "sniffio", "python-multipart"],
        "import uvicorn, starlette.applications, starlette.formparsers, multipart",
        """
import socket, threading, time, uvicorn
from starlette.applications import Starlette
t0 = time.perf_counter()
s = uvicorn.Server(uvicorn.Config(Starlette(), host="127.0.0.1", port=0, http="h11", lifespan="off", log_level="error"))
threading.Thread(target=s.run, daemon=True).start()
while not s.started: time.sleep(0.001)
print(time.perf_counter() - t0); s.should_exit = True
""",
    ),
    "aiohttp": (
        ["aiohttp", "multidict", "yarl", "frozenlist", "aiosignal", "aiohappyeyeballs", "propcache", "attrs", "idna"],
        "import aiohttp.web",
        """
import asyncio, time
from aiohttp import web
async def main():
    t0 = time.perf_counter()
    runner = web.AppRunner(web.Application()); await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(time.perf_counter() - t0); await runner.cleanup()
asyncio.run(main())
""",
    ),
}


def size_mb(dists: list[str]) -> float:
    total = 0
    for name in dists:
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for f in dist.files or []:
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                total += p.stat().st_size
    return total / 1e6


def timed(code: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> int:
    print("| stack | installed | import | start to listening |")
    print("| --- | --- | --- | --- |")
    for name, (dists, imports, start) in STACKS.items():
        imp = timed(f"import time; t0 = time.perf_counter(); {imports}; print(time.perf_counter() - t0)")
        print(f"| {name} | {size_mb(dists):.1f} MB | {imp * 1000:.0f} ms | {timed(start) * 1000:.0f} ms |")
    print(f"| prometheus-client (both) | {size_mb(['prometheus-client', 'prometheus_client']):.1f} MB | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
