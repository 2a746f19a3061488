"""``edge bench``: end-to-end pipeline throughput against the raw backend, on one machine, in one run.

Each measurement runs in a fresh child process so its peak memory (``ru_maxrss``) is its own:

* ``raw``: the backend alone, ``infer`` on one preprocessed frame in a loop (batch 1);
* ``pipeline``: N file streams of the same clip (``realtime: false``: as fast as the slowest
  stage) through the real pipeline: decode, preprocess, infer, decode results, v1 JSON and a
  sink that counts, so every per-result cost except the network is in the number.

Throughput counts from the first result to the last, after the same warm-up the raw loop gets.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import EdgeError
from edge.messages import ResultMessage, Sink

_WARMUP = 10


@dataclass(frozen=True)
class Measurement:
    kind: str  # "raw" or "pipeline"
    model: str
    streams: int
    frames: int
    fps: float
    latency_p50: float = 0.0
    latency_p95: float = 0.0
    peak_rss_mb: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)


class _CountingSink(Sink):
    """Counts results and keeps the times of the first and the last."""

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self._lock = threading.Lock()

    def publish(self, message: ResultMessage) -> None:
        now = time.perf_counter()
        with self._lock:
            if self.count == 0:
                self.first = now
            self.count += 1
            self.last = now


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def larger_input(model: Path, size: int, out_dir: Path) -> Path:
    """A copy of an Ultralytics ONNX model taking ``size`` x ``size`` input: the same weights, about
    (size / exported size)^2 times the compute. Works for graphs that derive their anchor grid
    from the input, as Ultralytics' ``dynamic=True`` exports do; ONNX Runtime refuses others."""
    import onnx

    m = onnx.load(str(model))
    dims = m.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise EdgeError(f"{model}: --imgsz needs an NCHW image input")
    dims[2].dim_value, dims[3].dim_value = size, size
    found = False
    for prop in m.metadata_props:
        if prop.key == "imgsz":
            prop.value, found = f"[{size}, {size}]", True
    if not found:
        raise EdgeError(f"{model}: --imgsz needs Ultralytics metadata (imgsz)")
    out = out_dir / f"{model.stem}-{size}.onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(out))
    return out


def _open(model_path: Path, backend: str, threads: int | None) -> Any:
    from edge.model import Model

    options = {"threads": threads} if threads and backend == "onnxruntime" else {}
    return Model.open(model_path, backend=backend, **options)


def measure_raw(model_path: Path, clip: Path, frames: int, backend: str, threads: int | None = None) -> Measurement:
    import cv2
    import numpy as np

    from edge.preprocess import preprocess

    cap = cv2.VideoCapture(str(clip))
    ok, image = cap.read()
    cap.release()
    if not ok:
        raise EdgeError(f"{clip}: cannot read a frame")
    with _open(model_path, backend, threads) as model:
        batch, _ = preprocess([np.asarray(image, dtype=np.uint8)], model.spec.preprocess)
        for _ in range(_WARMUP):
            model.backend.infer(batch)
        t0 = time.perf_counter()
        for _ in range(frames):
            model.backend.infer(batch)
        elapsed = time.perf_counter() - t0
    return Measurement("raw", model_path.name, 1, frames, frames / elapsed, peak_rss_mb=_peak_rss_mb())


def measure_pipeline(
    model_path: Path, clip: Path, streams: int, backend: str, threads: int | None = None, pipelined: bool = True
) -> Measurement:
    from edge.pipeline import ModelRunner, Pipeline, StreamHealth, StreamPlan
    from edge.sources import SourceSettings, parse_uri

    sink = _CountingSink()
    with _open(model_path, backend, threads) as model:
        runner = ModelRunner("model", model, max_batch=max(1, streams), pipelined=pipelined)
        plans = [
            StreamPlan(SourceSettings(f"s{i}", parse_uri(str(clip)), realtime=False), ("model",))
            for i in range(streams)
        ]
        pipeline = Pipeline(plans, [runner], [sink])
        pipeline.start()
        if not pipeline.wait_idle(3600):
            raise EdgeError("the pipeline did not finish within an hour")
        pipeline.stop()
        snap = pipeline.snapshot()
    healths = [s for s in snap.streams.values() if isinstance(s, StreamHealth)]
    results = sum(h.inferred for h in healths)
    if results != sink.count or any(h.dropped for h in healths):
        raise EdgeError(f"bench lost results: {sink.count} published, {results} inferred")
    totals: dict[str, float] = {}
    for name in snap.streams:
        _, stages = pipeline.stage_seconds(name)
        for k, v in stages.items():
            totals[k] = totals.get(k, 0.0) + v
    fps = (sink.count - 1) / max(sink.last - sink.first, 1e-9)
    return Measurement(
        "pipeline",
        model_path.name,
        streams,
        sink.count,
        fps,
        latency_p50=max(h.latency_p50 for h in healths),
        latency_p95=max(h.latency_p95 for h in healths),
        peak_rss_mb=_peak_rss_mb(),
        stages_ms={
            k: round(v / max(1, results) * 1000, 3) for k, v in {**totals, "total": sum(totals.values())}.items()
        },
    )


def _child(args: argparse.Namespace) -> int:
    model = Path(args.model[0])
    if args.child == "raw":
        m = measure_raw(model, Path(args.clip), args.frames, args.backend, args.threads)
    else:
        m = measure_pipeline(model, Path(args.clip), args.streams_n, args.backend, args.threads, not args.sequential)
    print(json.dumps(asdict(m)))
    return 0


def _run_child(
    kind: str, model: Path, clip: Path, streams: int, frames: int, backend: str, threads: int | None, sequential: bool
) -> Measurement:
    cmd = [sys.executable, "-m", "edge.bench", "--child", kind, "--model", str(model), "--clip", str(clip)]
    cmd += ["--streams-n", str(streams), "--frames", str(frames), "--backend", backend]
    if threads:
        cmd += ["--threads", str(threads)]
    if sequential:
        cmd.append("--sequential")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise EdgeError(f"bench {kind} on {model.name} failed: {tail}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return Measurement(**data)


def run_bench(
    models: Sequence[Path],
    clip: Path,
    streams: Sequence[int],
    frames: int,
    backend: str = "onnxruntime",
    threads: int | None = None,
    sequential: bool = False,
) -> list[Measurement]:
    out: list[Measurement] = []
    for model in models:
        out.append(_run_child("raw", model, clip, 1, frames, backend, threads, sequential))
        for n in streams:
            out.append(_run_child("pipeline", model, clip, n, frames, backend, threads, sequential))
    return out


def format_report(results: Sequence[Measurement], machine: str) -> str:
    lines = [f"edge bench on {machine}", ""]
    header = (
        f"{'model':<24} {'run':<12} {'frames':>6} {'fps':>8} {'x raw':>6} {'p50 ms':>7} {'p95 ms':>7} {'peak MB':>8}"
    )
    lines += [header, "-" * len(header)]
    raw: dict[str, float] = {}
    for m in results:
        if m.kind == "raw":
            raw[m.model] = m.fps
        run = "raw backend" if m.kind == "raw" else f"{m.streams} stream{'s' if m.streams > 1 else ''}"
        ratio = f"{m.fps / raw[m.model]:.2f}" if m.kind == "pipeline" and m.model in raw else ""
        p50 = f"{m.latency_p50 * 1000:.1f}" if m.kind == "pipeline" else ""
        p95 = f"{m.latency_p95 * 1000:.1f}" if m.kind == "pipeline" else ""
        lines.append(
            f"{m.model:<24} {run:<12} {m.frames:>6} {m.fps:>8.1f} {ratio:>6} {p50:>7} {p95:>7} {m.peak_rss_mb:>8.0f}"
        )
    lines += ["", "per-stage mean ms per result (pipeline runs):"]
    for m in results:
        if m.kind == "pipeline":
            stages = ", ".join(f"{k} {v:.2f}" for k, v in m.stages_ms.items())
            lines.append(f"  {m.model} x{m.streams}: {stages}")
    return "\n".join(lines)


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def default_models() -> list[Path]:
    root = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "models"
    return [p for p in (root / "shapes-detect.onnx", root / "shapes-segment.onnx") if p.is_file()]


def bench_main(args: argparse.Namespace) -> int:
    from edge.demo.clip import ClipKind, ClipSpec, cached_clip

    models = [Path(m) for m in args.model] if args.model else default_models()
    if not models:
        raise EdgeError("no model to benchmark; pass --model PATH")
    for m in models:
        if not m.exists():
            raise EdgeError(f"--model {m}: no such file")
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.clip:
        clip = Path(args.clip)
    else:
        cache = Path(args.cache or Path(tempfile.gettempdir()) / "edge-bench")
        clip = cached_clip(cache, ClipSpec(ClipKind.SHAPES, width, height, 30.0, args.frames, seed=11))
    streams = [int(s) for s in args.streams.split(",")]
    if args.imgsz:
        work = Path(tempfile.mkdtemp(prefix="edge-bench-models-"))
        models = [larger_input(m, args.imgsz, work) for m in models]
    results = run_bench(models, clip, streams, args.frames, args.backend, args.threads, args.sequential)
    report = format_report(results, machine_description())
    print(report)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", action="append", help="model to run (repeat; default: the detect and segment fixtures)")
    p.add_argument("--streams", default="1,4", help="stream counts to run, comma-separated (default 1,4)")
    p.add_argument("--frames", type=int, default=300, help="frames per stream and raw iterations (default 300)")
    p.add_argument("--size", default="640x480", help="clip frame size (default 640x480)")
    p.add_argument("--clip", help="a video file to use instead of a generated clip")
    p.add_argument("--cache", help="where generated clips are kept (default: the temp folder)")
    p.add_argument("--backend", default="onnxruntime", help="backend (default onnxruntime)")
    p.add_argument("--json", help="also write the measurements to this JSON file")
    p.add_argument("--imgsz", type=int, help="run the models at this square input size (same weights, more compute)")
    p.add_argument("--threads", type=int, help="ONNX Runtime threads (default: one per core)")
    p.add_argument("--sequential", action="store_true", help="run each model's stages on one thread (pipelined: false)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m edge.bench")
    add_arguments(ap)
    ap.add_argument("--child", choices=("raw", "pipeline"))
    ap.add_argument("--streams-n", type=int, default=1)
    ns = ap.parse_args()
    sys.exit(_child(ns) if ns.child else bench_main(ns))
