"""What ``instances`` buys and costs on one live stream: results/s and capture-to-publish latency.

The daemon's thread budget (edge/backends/threads.py) gives a lone ONNX Runtime model on a
2-3 core machine one single-threaded instance per core instead of one inference spread over
every core. That raises throughput when frames queue, and costs latency when they do not: a
lone frame then runs on one core. This runs one live stream (the clip paced at ``--fps``,
looping, newest frame kept as a camera's would be) through the daemon's own loader and
pipeline with ``instances: 1`` (every core on one inference, the old default) and with
``instances: N`` (the new one, N = the usable cores), rounds interleaved so a slow spell of a
shared machine hits both alike, and prints the medians.

    python tools/bench_instances.py                         # the crowd files, 10 and 30 fps
    python tools/bench_instances.py --model m.onnx --clip c.mp4 --fps 5,15,30 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.backends.threads import usable_cores
from edge.bench.cases import crowd_files
from edge.bench.multi import _LatencySink, _percentile


def measure(
    model: Path, clip: Path, instances: int, fps: float, warmup: float, duration: float
) -> tuple[float, float, float]:
    """(results/s, latency p50 s, latency p95 s) of one live stream, the model opened as the daemon opens it."""
    from edge.config import ModelConfig
    from edge.daemon.models import ModelLoader
    from edge.pipeline import Pipeline, StreamPlan
    from edge.sources import SourceSettings, parse_uri

    loader = ModelLoader([ModelConfig("m", model, instances=instances)])
    opened = loader.open()
    plan = StreamPlan(SourceSettings("cam", parse_uri(str(clip)), live=True, loop=True, fps=fps), ("m",))
    start = time.time() + warmup
    sink = _LatencySink(start, start + duration)
    pipeline = Pipeline([plan], opened.runners, [sink])
    try:
        pipeline.start()
        time.sleep(warmup + duration)
    finally:
        pipeline.stop(drain=False)
        loader.close()
    latency = sink.latency.get("m", [])
    return len(latency) / duration, _percentile(latency, 50), _percentile(latency, 95)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="model (repeat; default: the crowd detect and segment models)")
    ap.add_argument("--clip", help="video file (default: the crowd clip)")
    ap.add_argument("--fps", default="10,30", help="camera rates to pace the clip at, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--duration", type=float, default=12.0)
    args = ap.parse_args()
    if args.model and args.clip:
        models, clip = [Path(m) for m in args.model], Path(args.clip)
    else:
        segment, detect, crowd = crowd_files()
        models = [Path(m) for m in args.model] if args.model else [detect, segment]
        clip = Path(args.clip) if args.clip else crowd
    many = max(2, usable_cores())
    print(f"one live stream of {clip.name}; instances 1 (every core on one inference) vs {many} (one core each)")
    print(f"{'model':<26} {'fps in':>6} {'instances':>9} {'results/s':>9} {'p50 ms':>7} {'p95 ms':>7}")
    for model in models:
        for fps in (float(f) for f in args.fps.split(",")):
            runs: dict[int, list[tuple[float, float, float]]] = {1: [], many: []}
            for _ in range(args.rounds):
                for k in runs:
                    runs[k].append(measure(model, clip, k, fps, args.warmup, args.duration))
            for k, rs in runs.items():
                per_s, p50, p95 = (statistics.median(r[i] for r in rs) for i in range(3))
                print(f"{model.name:<26} {fps:>6.0f} {k:>9} {per_s:>9.1f} {p50 * 1000:>7.0f} {p95 * 1000:>7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
