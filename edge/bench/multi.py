"""``edge bench --multi``: several models on one small CPU, the daemon's default against hand settings.

Two live streams (a file paced at its frame rate, looping, newest frame kept as a camera's
would be), detection on both and instance segmentation on the first, as in issue 11. Each
setting (the default, no ``threads:``, and every ``threads: N`` asked for on both models)
runs in a fresh process that opens the models the way the daemon does (its ``ModelLoader``,
so the default is the daemon's thread budget) and counts, for ``duration`` seconds after a
warm-up, the results each model publishes (serialized to JSON as the MQTT sink does), their
latency from capture to publish, and the process's peak memory.

Settings are interleaved round by round (default, 1, 2, default, 1, 2, ...) so a slow spell
of a shared machine hits them alike; ``x best`` is, per round, the default's results/s over
the best hand setting's in that round, and its median over the rounds is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.bench.memory import peak_rss_mb
from edge.errors import EdgeError
from edge.jsonfast import dumps_bytes
from edge.messages import ResultMessage, Sink

DETECT, SEGMENT = "detect", "segment"


@dataclass(frozen=True)
class ModelFigures:
    results: int
    per_s: float
    p50: float
    p95: float


@dataclass(frozen=True)
class MultiRun:
    """One setting's process: ``threads`` None is the default (the daemon's thread budget)."""

    threads: int | None
    seconds: float
    models: dict[str, ModelFigures]
    peak_rss_mb: float
    dropped: int = 0

    @property
    def per_s(self) -> float:
        return sum(m.per_s for m in self.models.values())


class _LatencySink(Sink):
    """Counts each model's results published inside the window and their capture-to-publish latency."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.latency: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def publish(self, message: ResultMessage) -> None:
        dumps_bytes(message.to_payload())  # what the MQTT sink does with every result
        now = time.time()
        if not self.start <= now < self.end:
            return
        with self._lock:
            self.latency.setdefault(message.model, []).append(now - message.timestamp)


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(detect: Path, segment: Path, clip: Path, threads: int | None, warmup: float, duration: float) -> MultiRun:
    """One setting, in this process: the daemon's loader, two live streams, ``duration`` seconds counted."""
    from edge.config import ModelConfig
    from edge.daemon.models import ModelLoader
    from edge.pipeline import Pipeline, StreamHealth, StreamPlan
    from edge.pipeline.allocator import limit_malloc_arenas
    from edge.pipeline.blas import limit_blas_threads
    from edge.sources import SourceSettings, parse_uri

    limit_blas_threads(1)  # as the daemon does
    limit_malloc_arenas()
    configs = [ModelConfig(DETECT, detect, threads=threads), ModelConfig(SEGMENT, segment, threads=threads)]
    loader = ModelLoader(configs)
    opened = loader.open()
    if opened.failed:
        loader.close()
        raise EdgeError(f"bench --multi could not open its models: {opened.failed}")
    plans = [
        StreamPlan(SourceSettings(name, parse_uri(str(clip)), live=True, loop=True), models)
        for name, models in (("cam0", (DETECT, SEGMENT)), ("cam1", (DETECT,)))
    ]
    start = time.time() + warmup
    sink = _LatencySink(start, start + duration)
    pipeline = Pipeline(plans, opened.runners, [sink])
    try:
        pipeline.start()
        time.sleep(warmup + duration)
        snap = pipeline.snapshot()
    finally:
        pipeline.stop(drain=False)
        loader.close()
    dropped = sum(s.dropped for s in snap.streams.values() if isinstance(s, StreamHealth))
    models = {
        name: ModelFigures(len(lat), len(lat) / duration, _percentile(lat, 50), _percentile(lat, 95))
        for name, lat in ((n, sink.latency.get(n, [])) for n in (DETECT, SEGMENT))
    }
    peak = peak_rss_mb()
    return MultiRun(threads, duration, models, peak, dropped)


@dataclass(frozen=True)
class MultiReport:
    rounds: list[list[MultiRun]] = field(default_factory=list)  # per round, one run per setting

    def by_setting(self) -> dict[int | None, list[MultiRun]]:
        out: dict[int | None, list[MultiRun]] = {}
        for runs in self.rounds:
            for r in runs:
                out.setdefault(r.threads, []).append(r)
        return out

    def ratio(self) -> float | None:
        """Median over rounds of default results/s over the best hand setting's in that round."""
        ratios = []
        for runs in self.rounds:
            default = [r.per_s for r in runs if r.threads is None]
            hand = [r.per_s for r in runs if r.threads is not None]
            if default and hand and max(hand) > 0:
                ratios.append(default[0] / max(hand))
        return statistics.median(ratios) if ratios else None


def _run_child(
    detect: Path, segment: Path, clip: Path, threads: int | None, warmup: float, duration: float
) -> MultiRun:
    cmd = [sys.executable, "-m", "edge.bench.multi", "--detect", str(detect), "--segment", str(segment)]
    cmd += ["--clip", str(clip), "--warmup", str(warmup), "--duration", str(duration)]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise EdgeError(f"bench --multi with threads {threads or 'default'} failed: {tail}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["models"] = {k: ModelFigures(**v) for k, v in data["models"].items()}
    return MultiRun(**data)


def run_multi(
    detect: Path,
    segment: Path,
    clip: Path,
    settings: Sequence[int],
    rounds: int,
    warmup: float = 4.0,
    duration: float = 20.0,
) -> MultiReport:
    report = MultiReport()
    for _ in range(rounds):
        report.rounds.append([_run_child(detect, segment, clip, t, warmup, duration) for t in (None, *settings)])
    return report


def _median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def format_multi(report: MultiReport, machine: str) -> str:
    lines = [f"edge bench --multi on {machine}", ""]
    lines.append("two live streams: detection on both, instance segmentation on cam0; medians over rounds")
    header = (
        f"{'threads':<9} {'results/s':>9} {'det/s':>6} {'det p50':>8} {'det p95':>8} {'seg/s':>6}"
        f" {'seg p50':>8} {'seg p95':>8} {'peak MB':>8}"
    )
    lines += [header, "-" * len(header)]
    for threads, runs in report.by_setting().items():
        det = [r.models[DETECT] for r in runs]
        seg = [r.models[SEGMENT] for r in runs]
        cols = [_median([r.per_s for r in runs]), _median([d.per_s for d in det])]
        cols += [_median([d.p50 for d in det]), _median([d.p95 for d in det]), _median([s.per_s for s in seg])]
        cols += [_median([s.p50 for s in seg]), _median([s.p95 for s in seg])]
        lines.append(
            f"{threads or 'default':<9} {cols[0]:>9.2f} {cols[1]:>6.2f} {cols[2]:>7.2f}s {cols[3]:>7.2f}s"
            f" {cols[4]:>6.2f} {cols[5]:>7.2f}s {cols[6]:>7.2f}s {max(r.peak_rss_mb for r in runs):>8.0f}"
        )
    ratio = report.ratio()
    if ratio is not None:
        lines += ["", f"default / best threads: setting, results/s (median of per-round ratios): {ratio:.2f}"]
    lines += ["", "results/s of each round:"]
    for threads, runs in report.by_setting().items():
        lines.append(f"  {threads or 'default'}: {', '.join(f'{r.per_s:.2f}' for r in runs)}")
    return "\n".join(lines)


def multi_json(report: MultiReport) -> list[list[dict[str, object]]]:
    return [[asdict(r) for r in runs] for runs in report.rounds]


def _child() -> int:
    ap = argparse.ArgumentParser(prog="python -m edge.bench.multi")
    ap.add_argument("--detect", required=True)
    ap.add_argument("--segment", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--duration", type=float, default=20.0)
    a = ap.parse_args()
    run = measure(Path(a.detect), Path(a.segment), Path(a.clip), a.threads, a.warmup, a.duration)
    print(json.dumps(asdict(run)))
    return 0


if __name__ == "__main__":
    sys.exit(_child())
