"""``edge bench``: end-to-end pipeline throughput against the raw backend, on one machine, in one run.

For each model and stream count a fresh child process loads the model and then alternates,
``--repeat`` times:

* ``raw``: the backend alone as a user runs it, ``infer`` on one preprocessed frame in a loop
  (batch 1, ONNX Runtime's defaults: every core, or ``--threads``);
* ``raw, N at once``: where the daemon's thread budget gives the model several instances
  (edge/backends/threads.py), N threads calling the daemon-configured backend at once: the
  most the backend gives with the pipeline's own settings;
* ``plain loop`` (one stream): decode, preprocess, infer, results, v1 document and its JSON
  bytes, one after the other on one thread, with the raw backend;
* ``pipeline``: N file streams of the same clip (``realtime: false``: as fast as the slowest
  stage) through the real pipeline, the model opened as the daemon opens it: decode,
  preprocess, infer, decode results, v1 document and a sink that encodes each result's payload
  as the MQTT sink does and counts, so every per-result cost except the network is in the
  number.

The pipeline's peak memory (``VmHWM``, edge/bench/memory.py) comes from one more child that runs only the
pipeline, once, so the raw side's second session does not count.

Alternating matters on a shared machine, whose speed drifts by a factor of two within
seconds: each pipeline run is compared with the raw run just before it, and the ratio
reported is the median of those pairs. Pipeline throughput counts from the first result to
the last.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge.bench.memory import peak_rss_mb as _peak_rss_mb
from edge.bench.options import BenchOptions as BenchOptions  # re-exported: the bench's callers import it here
from edge.bench.options import add_arguments as add_arguments
from edge.bench.options import options as _options
from edge.bench.report import Measurement, format_report, machine_description
from edge.errors import EdgeError
from edge.jsonfast import dumps_bytes
from edge.messages import ResultMessage, Sink

_WARMUP = 10


class _CountingSink(Sink):
    """Encodes each result as the MQTT sink does (orjson, the whole payload), counts results
    and keeps the times of the first and the last."""

    def __init__(self) -> None:
        self.count = 0
        self.first = 0.0
        self.last = 0.0
        self._lock = threading.Lock()

    def publish(self, message: ResultMessage) -> None:
        dumps_bytes(message.to_payload())
        now = time.perf_counter()
        with self._lock:
            if self.count == 0:
                self.first = now
            self.count += 1
            self.last = now


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


def _open(model_path: Path, opts: BenchOptions, raw: bool = True) -> tuple[Any, Any, int]:
    """The model twice: as a user runs the backend alone (ONNX Runtime's defaults: every core,
    one inference at a time, or ``--threads``) and as the daemon opens a lone model (its thread
    budget), with the daemon's instances. One model when the two settings agree."""
    from edge.backends.threads import ThreadSetting, plan_threads, usable_cores
    from edge.model import Model

    if opts.backend != "onnxruntime":
        model = Model.open(model_path, backend=opts.backend)
        return model, model, 1
    t = plan_threads([opts.threads], instances=[opts.instances])[0]
    if not opts.pipelined:
        t = ThreadSetting(t.intra_op * t.instances, t.spinning)
    piped = Model.open(model_path, backend=opts.backend, threads=t.intra_op, spinning=t.spinning)
    if not raw or (t.intra_op, t.spinning) == (opts.threads or usable_cores(), True):
        return piped, piped, t.instances
    return Model.open(model_path, backend=opts.backend, threads=opts.threads), piped, t.instances


def _first_frame(clip: Path) -> Any:
    import cv2
    import numpy as np

    cap = cv2.VideoCapture(str(clip))
    ok, image = cap.read()
    cap.release()
    if not ok:
        raise EdgeError(f"{clip}: cannot read a frame")
    return np.asarray(image, dtype=np.uint8)


def _raw_fps(model: Any, batch: Any, frames: int, in_flight: int = 1) -> float:
    """``frames`` inferences of one batch, ``in_flight`` threads calling the backend at once."""
    left = iter(range(frames))
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            model.backend.infer(batch)

    threads = [threading.Thread(target=loop) for _ in range(in_flight)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return frames / (time.perf_counter() - t0)


@dataclass(frozen=True)
class _PipelineRun:
    fps: float
    results: int
    p50: float
    p95: float
    stages_ms: dict[str, float]


def _pipeline_run(
    model: Any, clip: Path, streams: int, pipelined: bool, instances: int = 1, params: Any = None
) -> _PipelineRun:
    from edge.pipeline import ModelRunner, Pipeline, StreamHealth, StreamPlan
    from edge.sources import SourceSettings, parse_uri
    from edge.tasks.params import InferenceParams

    sink = _CountingSink()
    runner = ModelRunner(
        "model", model, params or InferenceParams(), max_batch=max(1, streams), pipelined=pipelined, instances=instances
    )
    plans = [
        StreamPlan(SourceSettings(f"s{i}", parse_uri(str(clip)), realtime=False), ("model",)) for i in range(streams)
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
        for k, v in pipeline.stage_seconds(name)[1].items():
            totals[k] = totals.get(k, 0.0) + v
    totals["total"] = sum(totals.values())
    return _PipelineRun(
        (sink.count - 1) / max(sink.last - sink.first, 1e-9),
        results,
        max(h.latency_p50 for h in healths),
        max(h.latency_p95 for h in healths),
        {k: round(v / max(1, results) * 1000, 3) for k, v in totals.items()},
    )


def _plain_loop_fps(model: Any, clip: Path, params: Any) -> float:
    """The same work as one pipeline stream, written as the simplest possible loop: the reference
    for what the pipeline's threads, queues and accounting cost on top of the work itself."""
    import cv2
    import numpy as np

    from edge.preprocess import preprocess
    from edge.tasks.decode import decode_batch
    from edge.tasks.v1 import new_id

    names = [o.name for o in model.backend.outputs]
    cap = cv2.VideoCapture(str(clip))
    n, t0 = 0, time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        tensor, geometries = preprocess([np.asarray(frame, dtype=np.uint8)], model.spec.preprocess)
        outputs = model.backend.infer(tensor)
        result = decode_batch(model.spec, outputs, geometries, params, names)[0]
        dumps_bytes(result.to_v1(inference_id=new_id(), time=0.0))
        n += 1
    cap.release()
    return n / (time.perf_counter() - t0)


@dataclass
class _Pairs:
    """Every repeat's frames/s of each side, in the order they ran."""

    raws: list[float] = field(default_factory=list)
    flights: list[float] = field(default_factory=list)  # raw, ``instances`` at once
    loops: list[float] = field(default_factory=list)
    runs: list[_PipelineRun] = field(default_factory=list)
    raw_peak: float = 0.0
    loop_peak: float = 0.0
    stages: Any = None  # StageProfile of the plain loop's work, one stream only


def _alternate(
    raw: Any, model: Any, instances: int, clip: Path, streams: int, frames: int, repeat: int, opts: BenchOptions
) -> _Pairs:
    from edge.bench.stages import stage_profile
    from edge.preprocess import preprocess

    batch, _ = preprocess([_first_frame(clip)], model.spec.preprocess)
    for m in {id(raw): raw, id(model): model}.values():
        for _ in range(_WARMUP):
            m.backend.infer(batch)
    out = _Pairs()
    for _ in range(repeat):
        out.raws.append(_raw_fps(raw, batch, frames))
        if instances > 1:
            out.flights.append(_raw_fps(model, batch, frames, instances))
        out.raw_peak = out.raw_peak or _peak_rss_mb()  # before any pipeline ran
        if streams == 1:  # the simplest loop, as a user writes it: the backend run alone
            out.loops.append(_plain_loop_fps(raw, clip, opts.params()))
            out.loop_peak = out.loop_peak or _peak_rss_mb()
        out.runs.append(_pipeline_run(model, clip, streams, opts.pipelined, instances, opts.params()))
    out.stages = stage_profile(raw, clip, min(frames, 60), opts.params()) if out.loops else None
    return out


def _ratio(sides: Sequence[float], raws: Sequence[float]) -> float:
    return statistics.median(f / r for f, r in zip(sides, raws))


def measure_pair(
    model_path: Path, clip: Path, streams: int, frames: int, repeat: int, opts: BenchOptions
) -> list[Measurement]:
    """Raw backend and pipeline (and, for one stream, a plain loop), alternately, ``repeat``
    times in one process.

    A slow spell of a shared machine then slows both sides of a pair alike; the ratio reported
    is the median of the per-pair ratios, and each side's frames/s is its median run.
    """
    from edge.pipeline.allocator import limit_malloc_arenas
    from edge.pipeline.blas import limit_blas_threads

    limit_blas_threads(1)  # as the pipeline does, for the plain loop and the raw backend too
    limit_malloc_arenas()
    raw, model, instances = _open(model_path, opts)
    try:
        got = _alternate(raw, model, instances, clip, streams, frames, repeat, opts)
    finally:
        raw.close()
        if model is not raw:
            model.close()
    name, raws = model_path.name, got.raws
    out = [Measurement("raw", name, 1, frames, statistics.median(raws), peak_rss_mb=got.raw_peak, runs=tuple(raws))]
    if got.flights:
        fps = statistics.median(got.flights)
        flight_ratio = _ratio(got.flights, raws)
        out.append(
            Measurement(
                "raw_inflight", name, 1, frames, fps, runs=tuple(got.flights), ratio=flight_ratio, instances=instances
            )
        )
    if got.loops:
        loop = Measurement(
            "loop", name, 1, got.runs[0].results, statistics.median(got.loops), peak_rss_mb=got.loop_peak
        )
        st = got.stages
        out.append(
            dataclasses.replace(
                loop,
                stages_ms=st.ms if st else {},
                runs=tuple(got.loops),
                ratio=_ratio(got.loops, raws),
                json_bytes=st.json_bytes if st else 0.0,
                instances_per_frame=st.instances if st else 0.0,
            )
        )
    mid = sorted(got.runs, key=lambda r: r.fps)[len(got.runs) // 2]
    fps_runs = [r.fps for r in got.runs]
    pipeline = Measurement(
        "pipeline", name, streams, mid.results, mid.fps, mid.p50, mid.p95, _peak_rss_mb(), mid.stages_ms
    )
    out.append(
        dataclasses.replace(
            pipeline,
            runs=tuple(fps_runs),
            ratio=_ratio(fps_runs, raws),
            raw_fps=statistics.median(raws),
            instances=instances,
            ratio_inflight=_ratio(fps_runs, got.flights) if got.flights else None,
        )
    )
    return out


def pipeline_peak(model_path: Path, clip: Path, streams: int, opts: BenchOptions) -> tuple[float, float]:
    """Peak memory (MB) of a process that runs only the pipeline, once: the raw side of
    :func:`measure_pair` opens the model a second time, whose arena would count too. The
    high-water mark (VmHWM) and the highest anonymous part (edge/bench/memory.py)."""
    from edge.bench.memory import AnonPeak
    from edge.pipeline.allocator import limit_malloc_arenas
    from edge.pipeline.blas import limit_blas_threads

    limit_blas_threads(1)
    limit_malloc_arenas()
    with AnonPeak() as anon:
        _, model, instances = _open(model_path, opts, raw=False)
        with model:
            _pipeline_run(model, clip, streams, opts.pipelined, instances, opts.params())
    return _peak_rss_mb(), anon.peak_mb


def _child(args: argparse.Namespace) -> int:
    opts = _options(args)
    if args.peak:
        print(json.dumps(list(pipeline_peak(Path(args.model[0]), Path(args.clip), args.streams_n, opts))))
        return 0
    out = measure_pair(Path(args.model[0]), Path(args.clip), args.streams_n, args.frames, args.repeat, opts)
    print(json.dumps([asdict(m) for m in out]))
    return 0


def _child_output(cmd: list[str], model: Path, streams: int) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise EdgeError(f"bench of {model.name} with {streams} streams failed: {tail}")
    return proc.stdout.strip().splitlines()[-1]


def _run_child(
    model: Path, clip: Path, streams: int, frames: int, repeat: int, opts: BenchOptions
) -> list[Measurement]:
    cmd = [sys.executable, "-m", "edge.bench", "--child", "--model", str(model), "--clip", str(clip)]
    cmd += ["--streams-n", str(streams), "--frames", str(frames), "--repeat", str(repeat), "--backend", opts.backend]
    if opts.threads:
        cmd += ["--threads", str(opts.threads)]
    if not opts.pipelined:
        cmd.append("--sequential")
    if opts.instances:
        cmd += ["--instances", str(opts.instances)]
    if opts.confidence is not None:
        cmd += ["--confidence", str(opts.confidence)]
    if opts.overlap is not None:
        cmd += ["--overlap", str(opts.overlap)]
    if opts.mask_decode_mode != "accurate":
        cmd += ["--mask-decode-mode", opts.mask_decode_mode, "--tradeoff-factor", str(opts.tradeoff_factor)]
    out = []
    for data in json.loads(_child_output(cmd, model, streams)):
        data["runs"] = tuple(data.get("runs", ()))
        out.append(Measurement(**data))
    peak, anon = (float(v) for v in json.loads(_child_output([*cmd, "--peak"], model, streams)))
    return [dataclasses.replace(m, peak_rss_mb=peak, peak_anon_mb=anon) if m.kind == "pipeline" else m for m in out]


def run_bench(
    models: Sequence[Path],
    clip: Path,
    streams: Sequence[int],
    frames: int,
    repeat: int = 3,
    opts: BenchOptions | None = None,
) -> list[Measurement]:
    """Per model: the raw backend (from the first stream count's process) and each stream count."""
    opts = opts or BenchOptions()
    out: list[Measurement] = []
    for model in models:
        for i, n in enumerate(streams):
            measured = _run_child(model, clip, n, frames, repeat, opts)
            out.extend(measured if i == 0 else [m for m in measured if m.kind == "pipeline"])
    return out


def picture_measurement(model_path: Path, clip: Path, frames: int, opts: BenchOptions) -> Measurement:
    """The "annotate+jpeg 720p" row: what one picture of the device endpoints costs."""
    from edge.bench.picture import picture_cost
    from edge.model import Model

    with Model.open(model_path, backend=opts.backend) as model:
        cost = picture_cost(model, clip, frames)
    fps = 1000.0 / cost["total"] if cost["total"] > 0 else 0.0
    return Measurement("picture", model_path.name, 1, frames, round(fps, 1), stages_ms=cost)


def default_models() -> list[Path]:
    root = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "models"
    return [p for p in (root / "shapes-detect.onnx", root / "shapes-segment.onnx") if p.is_file()]


def bench_main(args: argparse.Namespace) -> int:
    from edge.bench.cases import crowd_inputs, multi_main
    from edge.demo.clip import ClipKind, ClipSpec, cached_clip

    if args.multi:
        return multi_main(args, machine_description())
    models = [Path(m) for m in args.model] if args.model else default_models()
    if args.crowd or args.crowd_large:
        models, crowd_clip = crowd_inputs(args)
        args.clip = str(crowd_clip)
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
    streams = [int(s) for s in (args.streams or ("1" if args.crowd or args.crowd_large else "1,4")).split(",")]
    opts = _options(args)
    with tempfile.TemporaryDirectory(prefix="edge-bench-models-") as work:  # --imgsz copies, removed after
        if args.imgsz:
            models = [larger_input(m, args.imgsz, Path(work)) for m in models]
        results = run_bench(models, clip, streams, args.frames, max(1, args.repeat), opts)
        results += [picture_measurement(m, clip, min(args.frames, 30), opts) for m in models]
    report = format_report(results, machine_description())
    print(report)
    if not args.no_tracking:
        from edge.tracking.bench import tracking_section

        print("\n" + tracking_section())
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


def main() -> None:
    """``python -m edge.bench`` (edge/bench/__main__.py): the bench, or one of its child processes."""
    ap = argparse.ArgumentParser(prog="python -m edge.bench")
    add_arguments(ap)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--streams-n", type=int, default=1)
    ap.add_argument("--peak", action="store_true")
    ns = ap.parse_args()
    sys.exit(_child(ns) if ns.child else bench_main(ns))
