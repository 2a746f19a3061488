"""Soak: the daemon with two camera streams publishing to MQTT while a loop sends the v1 route
a mix of bad requests and good ones; checks what issue 19 asks of a device on a network.

    python -m tools.soak                      # 10 minutes (docs/security.md has a run's figures)
    python -m tools.soak --seconds 20         # the short version tests/tools/test_soak.py runs

Checks, each reported and all needed for exit status 0:
- zero crashes: the daemon is alive throughout, stops with status 0 on SIGTERM, and logged no
  traceback;
- resident memory flat: the daemon's VmRSS sampled every ``--sample`` seconds, with the slope of a
  least-squares line after the warm-up; flat means the line rises less than ``--max-growth-mb``
  over the run;
- every camera result published and gap-free: a subscriber on the broker sees, per stream,
  every frame number from 0 to the last (the streams are files read as ``live: false``, so the
  pipeline never drops a frame; a frame missing is a result lost);
- every request answered with its status: each bad request its 4xx with a JSON body, each good
  one 200 (or 503 when the model was busy with camera frames).

The daemon runs as a child process (``python -m edge run``) on a mosquitto started here, with
clips drawn here; nothing outside the machine is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from edge.demo.broker import LocalBroker, find_mosquitto, free_port
from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from tools.soak_requests import Case, Outcome, cases, send

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "fixtures" / "models" / "shapes-detect.onnx"
IMAGE = ROOT / "examples" / "images" / "shapes.jpg"
KEY_VAR = "EDGE_SOAK_KEY"
STREAMS = ("cam1", "cam2")


@dataclass
class Frames:
    """Frame numbers seen per stream on MQTT (QoS 1 may deliver one twice: a set)."""

    seen: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        doc = json.loads(msg.payload)
        with self.lock:
            self.seen[str(doc["stream"])].add(int(doc["frame"]))

    def report(self) -> dict[str, Any]:
        with self.lock:
            out = {}
            for stream in STREAMS:
                got = self.seen.get(stream, set())
                last = max(got, default=-1)
                missing = sorted(set(range(last + 1)) - got)
                out[stream] = {
                    "results": len(got),
                    "last_frame": last,
                    "missing": len(missing),
                    "first_missing": missing[:10],
                }
            return out


@dataclass
class Memory:
    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)

    def sample(self, t: float) -> None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.samples.append((t, int(line.split()[1]) / 1024))
        except OSError:
            pass

    def report(self, warmup: float, max_growth: float) -> dict[str, Any]:
        after = [(t, m) for t, m in self.samples if t >= warmup]
        mb = [m for _, m in self.samples]
        out: dict[str, Any] = {"samples": len(mb), "first_mb": mb[0] if mb else 0, "last_mb": mb[-1] if mb else 0}
        out["max_mb"] = max(mb, default=0)
        if len(after) >= 3:
            t = np.array([a[0] for a in after]) / 60
            m = np.array([a[1] for a in after])
            slope = float(np.polyfit(t, m, 1)[0])
            out.update(slope_mb_per_min=round(slope, 3), growth_mb=round(float(slope * (t[-1] - t[0])), 2))
            out["growth_mb"] = float(out["growth_mb"])
            out["flat"] = bool(out["growth_mb"] < max_growth)
        else:
            out.update(slope_mb_per_min=None, growth_mb=None, flat=False)
        return out


def config(tmp: Path, clips: list[Path], broker_port: int, http_port: int) -> Path:
    streams = "\n".join(
        f"  {name}: {{uri: {clip}, models: [det], live: false, realtime: true, loop: true}}"
        for name, clip in zip(STREAMS, clips)
    )
    path = tmp / "soak.yaml"
    path.write_text(f"""\
models:
  det: {{path: {MODEL}}}   # answers /det/1
streams:
{streams}
mqtt: {{host: 127.0.0.1, port: {broker_port}, device_id: soak, stats_interval: 5}}
spool: {{directory: {tmp / "spool"}}}
state_dir: {tmp / "state"}
http:
  port: {http_port}
  api_keys: [{{env: {KEY_VAR}}}]
  image_urls: [192.0.2.0/24]
""")
    return path


def request_loop(base: str, mix: list[Case], rate: float, stop: threading.Event, out: list[Outcome]) -> None:
    """One case after another at about ``rate`` per second, round the mix."""
    i = 0
    while not stop.is_set():
        started = time.monotonic()
        out.append(send(base, mix[i % len(mix)]))
        i += 1
        stop.wait(max(0.0, 1.0 / rate - (time.monotonic() - started)))


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the daemon exited with status {proc.returncode} before it served")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the daemon did not listen on port {port} within {timeout:.0f} s")


def requests_report(outcomes: list[Outcome]) -> dict[str, Any]:
    by_case: dict[str, Counter[int]] = defaultdict(Counter)
    for o in outcomes:
        by_case[o.case][o.status] += 1
    failures = [asdict(o) for o in outcomes if not o.ok]
    seconds = sorted(o.seconds for o in outcomes)
    return {
        "sent": len(outcomes),
        "by_case": {c: dict(v) for c, v in sorted(by_case.items())},
        "wrong": len(failures),
        "first_wrong": failures[:5],
        "p95_seconds": round(seconds[int(0.95 * (len(seconds) - 1))], 3) if seconds else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("soak: mosquitto is needed (apt-get install mosquitto, or tools/install_test_deps.sh)")
    with tempfile.TemporaryDirectory(prefix="edge-soak-") as tmp_text, LocalBroker(binary) as broker:
        tmp = Path(tmp_text)
        clips = [
            cached_clip(tmp, ClipSpec(ClipKind.SHAPES, width=320, height=240, fps=args.fps, frames=60, seed=11 + i))
            for i in range(len(STREAMS))
        ]
        http_port = free_port()
        frames = Frames()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="edge-soak-subscriber")
        sub.on_message = frames.on_message
        sub.connect("127.0.0.1", broker.port)
        sub.subscribe("edge/soak/+/+/predictions", qos=1)
        sub.loop_start()
        key = "sk-soak-" + os.urandom(6).hex()
        env = {**os.environ, KEY_VAR: key, "PYTHONUNBUFFERED": "1"}
        log_path = tmp / "daemon.log"
        cfg = config(tmp, clips, broker.port, http_port)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "run", "--config", str(cfg)], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        memory = Memory(proc.pid)
        outcomes: list[Outcome] = []
        stop = threading.Event()
        alive = True
        try:
            try:
                wait_listening(http_port, proc)
            except RuntimeError as exc:
                tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-3:])
                raise SystemExit(f"soak: {exc}: {tail}") from None
            mix = cases(IMAGE, key, "det/1")
            loop = threading.Thread(
                target=request_loop, args=(f"http://127.0.0.1:{http_port}", mix, args.rate, stop, outcomes)
            )
            started = time.monotonic()
            loop.start()
            while (elapsed := time.monotonic() - started) < args.seconds:
                memory.sample(elapsed)
                if proc.poll() is not None:
                    alive = False
                    break
                time.sleep(min(args.sample, max(0.0, args.seconds - elapsed)))
            memory.sample(time.monotonic() - started)
            stop.set()
            loop.join(60)
        finally:
            stop.set()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(10)
        time.sleep(2.0)  # the last results on their way from the broker
        sub.loop_stop()
        sub.disconnect()
        log_text = log_path.read_text(errors="replace")
    streams = frames.report()
    mem = memory.report(args.warmup * args.seconds, args.max_growth_mb)
    reqs = requests_report(outcomes)
    crashes = {
        "alive_throughout": alive,
        "exit_status": code,
        "tracebacks": log_text.count("Traceback"),
        "log_tail": log_text.strip().splitlines()[-5:],
    }
    checks = {
        "no_crash": alive and code == 0 and crashes["tracebacks"] == 0,
        "memory_flat": bool(mem["flat"]),
        "results_gap_free": all(s["missing"] == 0 and s["results"] > 0 for s in streams.values()),
        "requests_answered": reqs["wrong"] == 0 and reqs["sent"] > 0,
    }
    return {
        "seconds": args.seconds,
        "fps": args.fps,
        "rate": args.rate,
        "ok": all(checks.values()),
        "checks": checks,
        "crashes": crashes,
        "memory": mem,
        "streams": streams,
        "requests": reqs,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seconds", type=float, default=600.0, help="how long to soak (default 600: 10 minutes)")
    p.add_argument("--fps", type=float, default=5.0, help="each camera stream's frame rate (default 5)")
    p.add_argument("--rate", type=float, default=8.0, help="requests per second to the v1 route (default 8)")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples (default 10)")
    p.add_argument("--warmup", type=float, default=0.2, help="share of the run before the memory slope counts (0.2)")
    p.add_argument("--max-growth-mb", type=float, default=16.0, help="memory growth allowed after warm-up (16 MB)")
    p.add_argument("--json", type=Path, help="also write the report here")
    args = p.parse_args(argv)
    report = run(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    print(f"soak: {'OK' if report['ok'] else 'FAILED'}: " + ", ".join(f"{k}={v}" for k, v in report["checks"].items()))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
