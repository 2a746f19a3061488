"""Requests/s and latency of the v1 route for 1 to 8 concurrent clients, next to the raw backend.

    python tools/bench_serve.py [--model tests/fixtures/models/shapes-detect.onnx]
        [--image examples/images/shapes.jpg] [--clients 1,2,4,8] [--seconds 5]

The server is ``edge serve`` in its own process (as on a device); the clients are threads in
this one, each with its own keep-alive connection, posting the image as base64 (as
inference-sdk and roboflow-python do) with no pause between requests. Before each client
count the raw backend (``infer`` on one preprocessed image in a loop, batch 1, in this
process, with the server idle) is timed for as long, so each row's ratio compares numbers
taken seconds apart on a machine whose speed drifts. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def raw_fps(model_path: Path, image_path: Path, seconds: float) -> float:
    from edge.imageio import read_image
    from edge.model import Model
    from edge.preprocess import preprocess

    with Model.open(model_path) as model:
        tensor, _ = preprocess([read_image(image_path)], model.spec.preprocess)
        for _ in range(5):
            model.backend.infer(tensor)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            model.backend.infer(tensor)
            n += 1
        return n / (time.perf_counter() - t0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("bench_serve: edge serve exited before it served")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("bench_serve: edge serve did not become ready")


def client(port: int, body: bytes, stop_at: float, latencies: list[float], statuses: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    while time.perf_counter() < stop_at:
        t0 = time.perf_counter()
        conn.request("POST", "/bench/1?confidence=0.4", body, headers)
        resp = conn.getresponse()
        resp.read()
        latencies.append(time.perf_counter() - t0)
        statuses.append(resp.status)
    conn.close()


def load(port: int, body: bytes, clients: int, seconds: float) -> tuple[float, float, float, int]:
    """(requests/s answered 200, p50 s, p95 s, non-200 answers) for ``clients`` at once."""
    warm: list[float] = []
    client(port, body, time.perf_counter() + 0.5, warm, [])
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[list[int]] = [[] for _ in range(clients)]
    stop_at = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=client, args=(port, body, stop_at, latencies[i], statuses[i])) for i in range(clients)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat = sorted(x for xs in latencies for x in xs)
    codes = [c for cs in statuses for c in cs]
    ok = codes.count(200)
    q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [lat[0]] * 19
    return ok / elapsed, statistics.median(lat), q[18], len(codes) - ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "tests/fixtures/models/shapes-detect.onnx")
    ap.add_argument("--image", type=Path, default=ROOT / "examples/images/shapes.jpg")
    ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    body = base64.b64encode(args.image.read_bytes())
    port = free_port()
    cmd = [sys.executable, "-m", "edge", "serve", "--model", str(args.model), "--model-id", "bench/1"]
    cmd += ["--port", str(port), "--max-queue", "64", "--max-wait", "30"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    rows = []
    try:
        wait_ready(port, proc)
        for n in (int(c) for c in args.clients.split(",")):
            raw = raw_fps(args.model, args.image, args.seconds)
            rps, p50, p95, refused = load(port, body, n, args.seconds)
            rows.append({"clients": n, "rps": rps, "p50": p50, "p95": p95, "raw": raw, "refused": refused})
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    print(f"model {args.model.name}, image {args.image.name}, {args.seconds:g} s per run, {os.cpu_count()} cores")
    print("| clients | requests/s | p50 | p95 | raw backend (same run) | × raw | not 200 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['clients']} | {r['rps']:.1f} | {r['p50'] * 1000:.1f} ms | {r['p95'] * 1000:.1f} ms "
            f"| {r['raw']:.1f} fps | {r['rps'] / r['raw']:.2f} | {r['refused']} |"
        )
    print(json.dumps(rows), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
