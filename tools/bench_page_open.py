"""Does a device page left open slow inference? Frames/s with and without page viewers, interleaved.

    python tools/bench_page_open.py [--viewers 2] [--rounds 4] [--seconds 8] [--size 640x480] [--no-mjpeg]
                                    [--clients idle|nice|same]
    python tools/bench_page_open.py --per-request [--seconds 3]

``edge run`` runs in its own process (as on a device) with two streams on looping shapes clips
read as fast as the model goes (``realtime: false``), so inference frames/s is the CPU-bound
throughput a page could take from. Phases alternate, closed then open, ``--rounds`` times; an
open phase has ``--viewers`` pages, each doing on every stream what the page does (latest.jpg at
360 px then latest.json of that frame, as often as the server's ``X-Edge-Refresh`` says; /api/status
every 2 s or twice that interval) plus one MJPEG viewer per stream and page. Frames/s is the
daemon's own ``inferred`` count over the phase. The ratio reported is the median over rounds of
open / the mean of the closed phases either side.

The viewers are not the device's cost (a phone's browser runs on the phone), but here they share
its cores: they run in a separate process at SCHED_IDLE (``--clients idle``, the default: they get
only CPU the daemon leaves idle), or at nice 19 (``nice``), or at the bench's own priority
(``same``, how it ran before). The daemon's CPU per inferred frame is reported as well: it counts
the daemon's process only, whatever the clients' priority.
``--per-request`` prints instead the daemon's CPU per request of each route the page uses
(streams paced to 2 frames/s; the daemon's idle CPU over as long is taken off). Pictures of the
same frame come from the cache there, so the latest.jpg figure is the request, not an encode.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STREAMS = ("a", "b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def wait_serving(port: int, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("bench_page_open: edge run exited before it served")
        try:
            if all(get(port, f"/api/streams/{s}/latest.json", 2)[0] == 200 for s in STREAMS):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("bench_page_open: no stream had a frame in time")


class KeepAlive:
    """One keep-alive connection, as a browser holds per tile (a new TCP connection per request
    would cost the server more than a page does)."""

    def __init__(self, port: int) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def get(self, path: str) -> tuple[int, dict[str, str]]:
        self._conn.request("GET", path)
        resp = self._conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}

    def close(self) -> None:
        self._conn.close()


def poller(port: int, stop: threading.Event, counts: list[int]) -> None:
    """One page: each stream's picture and that frame's documents, as often as the server's
    ``X-Edge-Refresh`` says (250 ms until it says); status every 2 s or twice that interval."""
    conns = {s: KeepAlive(port) for s in STREAMS}
    status_conn = KeepAlive(port)
    next_status, period = 0.0, 0.25
    try:
        while not stop.is_set():
            begun = time.monotonic()
            if begun >= next_status:
                status_conn.get("/api/status")
                next_status = begun + max(2.0, 2 * period)
            for s, conn in conns.items():
                status, headers = conn.get(f"/api/streams/{s}/latest.jpg?height=360")
                if status == 200:
                    period = min(10.0, max(0.1, int(headers.get("x-edge-refresh", "250")) / 1000))
                    conn.get(f"/api/streams/{s}/latest.json?frame={headers['x-edge-frame']}")
                    counts[0] += 1
            stop.wait(max(0.0, period - (time.monotonic() - begun)))
    finally:
        for c in [*conns.values(), status_conn]:
            c.close()


def mjpeg_viewer(port: int, stream: str, stop: threading.Event, counts: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/api/streams/{stream}/mjpeg?height=360")
        resp = conn.getresponse()
        while not stop.is_set():
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
            if not chunk:
                return
            counts[1] += chunk.count(b"--edgeframe")
    finally:
        conn.close()


def lowest_priority(clients: str) -> None:
    """This (client) process at SCHED_IDLE, or nice 19, or as it is."""
    if clients == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    if clients in ("idle", "nice"):
        os.setpriority(os.PRIO_PROCESS, 0, 19)


def client_main(port: int, viewers: int, mjpeg: bool, clients: str) -> int:
    """The viewers of one open phase, in their own process, until stdin closes; prints counts."""
    lowest_priority(clients)
    stop = threading.Event()
    counts = [0, 0]
    threads = [threading.Thread(target=poller, args=(port, stop, counts), daemon=True) for _ in range(viewers)]
    threads += [
        threading.Thread(target=mjpeg_viewer, args=(port, s, stop, counts), daemon=True)
        for _ in range(viewers if mjpeg else 0)
        for s in STREAMS
    ]
    for t in threads:
        t.start()
    sys.stdin.read()  # the bench closes it at the end of the phase
    stop.set()
    for t in threads:
        t.join(15)
    print(json.dumps({"polled": counts[0], "parts": counts[1]}), flush=True)
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the daemon's process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Phase:
    fps: float  # inference frames/s
    cpu_per_frame: float  # the daemon's CPU ms per inferred frame
    web_cpu: float  # the daemon's web threads' CPU, ms per second (its /api/status "pace")
    level: str  # the pace the daemon reported at the end of the phase
    polled: int  # pictures the viewers polled
    parts: int  # MJPEG parts they received


def daemon_status(port: int) -> tuple[int, float, str]:
    """Frames inferred so far, the web threads' CPU seconds so far, and the pace's level."""
    _, _, body = get(port, "/api/status")
    doc = json.loads(body)
    n = sum(int(s["inferred"]) for s in doc["streams"].values())
    pace = doc.get("pace", {})
    return n, float(pace.get("web_cpu_seconds", 0.0)), f"{pace.get('level', '?')} {pace.get('tile_ms', '?')} ms"


def phase(port: int, pid: int, seconds: float, viewers: int, mjpeg: bool = True, clients: str = "idle") -> Phase:
    """One phase with ``viewers`` pages open (0: closed), each with an MJPEG viewer per stream."""
    client = None
    if viewers:
        cmd = [sys.executable, __file__, "--client", str(port), "--viewers", str(viewers), "--clients", clients]
        client = subprocess.Popen(
            [*cmd, *([] if mjpeg else ["--no-mjpeg"])], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    time.sleep(1.0)  # viewers connected and encoders running before the count starts
    (n0, w0, _), t0, c0 = daemon_status(port), time.monotonic(), cpu_seconds(pid)
    time.sleep(seconds)
    (n1, w1, level), t1, c1 = daemon_status(port), time.monotonic(), cpu_seconds(pid)
    counts = {"polled": 0, "parts": 0}
    if client is not None:
        out, _ = client.communicate("", timeout=30)
        counts = json.loads(out.strip().splitlines()[-1])
    span, frames = t1 - t0, max(1, n1 - n0)
    return Phase((n1 - n0) / span, (c1 - c0) * 1000 / frames, (w1 - w0) * 1000 / span, level, **counts)


def config_text(clips: dict[str, Path], model: Path, port: int, state: Path, paced: bool = False) -> str:
    # Paced (--per-request): 2 frames/s, so inference leaves the CPU to the requests measured.
    read = "fps: 2" if paced else "realtime: false"
    streams = "".join(f"  {s}: {{uri: '{clips[s]}', models: [det], {read}, loop: true}}\n" for s in STREAMS)
    return f"models:\n  det: {{path: {model}}}\nstreams:\n{streams}http: {{port: {port}}}\nstate_dir: {state}\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "tests/fixtures/models/shapes-detect.onnx")
    ap.add_argument("--viewers", type=int, default=2, help="pages open during an open phase (default 2)")
    ap.add_argument("--rounds", type=int, default=4, help="closed/open pairs (default 4)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each phase (default 8)")
    ap.add_argument("--size", default="640x480", help="clip frame size (default 640x480)")
    ap.add_argument("--no-mjpeg", action="store_true", help="pages poll pictures only (no MJPEG viewers)")
    ap.add_argument("--per-request", action="store_true", help="instead: the daemon's CPU per request of each route")
    ap.add_argument(
        "--clients",
        choices=("idle", "nice", "same"),
        default="idle",
        help="the viewers' process: SCHED_IDLE (default), nice 19, or the bench's own priority",
    )
    ap.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the viewers' process itself
    args = ap.parse_args()
    if args.client is not None:
        return client_main(args.client, args.viewers, not args.no_mjpeg, args.clients)
    sys.path.insert(0, str(ROOT))
    from edge.demo.clip import ClipKind, ClipSpec, cached_clip

    width, height = (int(v) for v in args.size.lower().split("x"))
    cache = Path(tempfile.gettempdir()) / "edge-bench"
    clips = {
        s: cached_clip(cache, ClipSpec(ClipKind.SHAPES, width, height, 30.0, 120, seed=31 + i))
        for i, s in enumerate(STREAMS)
    }
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="edge-page-bench-") as work:
        config = Path(work) / "edge.yaml"
        config.write_text(config_text(clips, args.model, port, Path(work) / "state", args.per_request))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "edge", "run", "--config", str(config)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env)
        try:
            wait_serving(port, proc)
            if args.per_request:
                per_request(port, proc.pid, args.seconds)
                return 0
            phase(port, proc.pid, 2.0, 0)  # warm-up
            closed, opened = [], []
            for _ in range(args.rounds):
                closed.append(phase(port, proc.pid, args.seconds, 0))
                opened.append(phase(port, proc.pid, args.seconds, args.viewers, not args.no_mjpeg, args.clients))
            closed.append(phase(port, proc.pid, args.seconds, 0))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    report("inference frames/s", [p.fps for p in closed], [p.fps for p in opened], args.viewers)
    cpu = [p.cpu_per_frame for p in closed], [p.cpu_per_frame for p in opened]
    report("daemon CPU ms per frame", *cpu, args.viewers)
    web = ", ".join(f"{p.web_cpu:.1f}" for p in opened)
    print(f"web threads' CPU ms per second, open: {web} (closed: {max(p.web_cpu for p in closed):.1f} at most)")
    print(f"pace at the end of each open phase: {', '.join(p.level for p in opened)}")
    seconds = args.seconds * len(opened)
    polled, parts = sum(p.polled for p in opened), sum(p.parts for p in opened)
    print(f"clients ({args.clients}): pictures polled {polled}, MJPEG parts received {parts} (over {seconds:g} s open)")
    return 0


def per_request(port: int, pid: int, seconds: float) -> None:
    """The daemon's CPU per request of each route, one keep-alive client, its idle CPU taken off."""
    time.sleep(2.0)
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    idle = (cpu_seconds(pid) - c0) / seconds
    print(f"daemon idle (2 streams at 2 frames/s): {idle * 1000:.0f} ms CPU per second")
    conn = KeepAlive(port)
    paths = ("/healthz", "/api/streams/a/latest.json", "/api/streams/a/latest.jpg?height=360", "/api/status")
    try:
        for path in paths:
            n, c0, t0 = 0, cpu_seconds(pid), time.monotonic()
            while time.monotonic() - t0 < seconds:
                conn.get(path)
                n += 1
            elapsed = time.monotonic() - t0
            cost = (cpu_seconds(pid) - c0 - idle * elapsed) / n * 1000
            print(f"  {path}: {n / elapsed:.0f} requests/s, {cost:.2f} ms CPU per request")
    finally:
        conn.close()


def report(what: str, closed: list[float], opened: list[float], viewers: int) -> None:
    """Each open phase against the mean of the closed phases either side of it."""
    ratios = [o / ((closed[i] + closed[i + 1]) / 2) for i, o in enumerate(opened)]
    print(f"{what}, closed: {', '.join(f'{v:.1f}' for v in closed)}")
    print(f"{what}, open ({viewers} pages): {', '.join(f'{v:.1f}' for v in opened)}")
    rounds = ", ".join(f"{r:.3f}" for r in ratios)
    print(f"  open / closed: median {statistics.median(ratios):.3f} (per round: {rounds})")


if __name__ == "__main__":
    sys.exit(main())
