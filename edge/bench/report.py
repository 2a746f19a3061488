"""What ``edge bench`` measured, and the report it prints."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edge.bench.stages import CPU_STAGES


@dataclass(frozen=True)
class Measurement:
    kind: str  # "raw", "raw_inflight", "loop", "pipeline" or "picture" (annotate+jpeg 720p, in stages_ms)
    model: str
    streams: int
    frames: int
    fps: float
    latency_p50: float = 0.0
    latency_p95: float = 0.0
    peak_rss_mb: float = 0.0
    stages_ms: dict[str, float] = field(default_factory=dict)
    runs: tuple[float, ...] = ()  # frames/s of every repeat
    ratio: float | None = None  # pipeline: median over repeats of (pipeline / raw frames/s)
    raw_fps: float | None = None  # pipeline: median raw frames/s of its own pairs
    instances: int = 1  # inferences in flight (raw in flight, pipeline)
    ratio_inflight: float | None = None  # pipeline: the ratio against raw in flight, when measured
    json_bytes: float = 0.0  # loop: mean v1 JSON bytes per frame (edge/bench/stages.py)
    instances_per_frame: float = 0.0  # loop: mean results per frame
    peak_anon_mb: float = 0.0  # pipeline: the highest anonymous part of it (edge/bench/memory.py)


def _run_label(m: Measurement) -> str:
    if m.kind == "raw_inflight":
        return f"raw, {m.instances} at once"
    if m.kind in ("raw", "loop"):
        return {"raw": "raw backend", "loop": "plain loop"}[m.kind]
    return f"{m.streams} stream{'s' if m.streams > 1 else ''}"


def format_report(results: Sequence[Measurement], machine: str) -> str:
    lines = [f"edge bench on {machine}", ""]
    flight = any(m.ratio_inflight is not None for m in results)
    width = max([24, *(len(m.model) for m in results)])
    header = (
        f"{'model':<{width}} {'run':<15} {'frames':>6} {'fps':>8} {'x raw':>6}{' x at once' if flight else ''}"
        f" {'p50 ms':>7} {'p95 ms':>7} {'peak MB':>8} {'anon MB':>8} {'raw fps':>8}"
    )
    lines += [header, "-" * len(header)]
    for m in results:
        if m.kind == "picture":
            continue
        ratio = f"{m.ratio:.2f}" if m.ratio is not None else ""
        at_once = f" {m.ratio_inflight:>9.2f}" if m.ratio_inflight is not None else " " * 10 if flight else ""
        p50 = f"{m.latency_p50 * 1000:.1f}" if m.kind == "pipeline" else ""
        p95 = f"{m.latency_p95 * 1000:.1f}" if m.kind == "pipeline" else ""
        paired = f"{m.raw_fps:.1f}" if m.raw_fps else ""
        peak = f"{m.peak_rss_mb:.0f}" if m.peak_rss_mb else ""
        anon = f"{m.peak_anon_mb:.0f}" if m.peak_anon_mb else ""
        lines.append(
            f"{m.model:<{width}} {_run_label(m):<15} {m.frames:>6} {m.fps:>8.1f} {ratio:>6}{at_once} {p50:>7} {p95:>7}"
            f" {peak:>8} {anon:>8} {paired:>8}"
        )
    if any(m.peak_anon_mb for m in results):
        lines += [
            "",
            "peak MB: the pipeline process's high-water mark (VmHWM); anon MB: the highest of its own"
            " (anonymous) memory, without the shared libraries' pages, which vary with the page cache",
        ]
    if flight:
        lines += [
            "",
            "x raw: against the raw backend one inference at a time; x at once: against it with as many"
            " inferences at once as the pipeline runs (its instances, edge/backends/threads.py)",
        ]
    if any(len(m.runs) > 1 for m in results):
        lines += ["", "frames/s of each repeat (medians above; x raw is the median of the per-repeat ratios):"]
        lines += [f"  {m.model} {m.kind} x{m.streams}: {', '.join(f'{r:.1f}' for r in m.runs)}" for m in results]
    lines += ["", "per-stage mean ms per result (pipeline runs: wall time on overlapping threads):"]
    for m in results:
        if m.kind == "pipeline":
            stages = ", ".join(f"{k} {v:.2f}" for k, v in m.stages_ms.items())
            lines.append(f"  {m.model} x{m.streams}: {stages}")
    if any(m.kind == "loop" and m.stages_ms for m in results):
        lines += ["", "per-stage mean ms per frame, one thread, step by step (see edge/bench/stages.py):"]
        for m in results:
            if m.kind == "loop" and m.stages_ms:
                lines.append(f"  {m.model}: " + ", ".join(f"{k} {v:.2f}" for k, v in m.stages_ms.items()))
        lines += ["", "outside inference (CPU of one thread: results, masks, polygons, v1, json), per frame:"]
        for m in results:
            if m.kind == "loop" and m.stages_ms:
                cpu = sum(m.stages_ms.get(k, 0.0) for k in CPU_STAGES)
                lines.append(
                    f"  {m.model}: {cpu:.2f} ms, {m.instances_per_frame:.1f} instances, "
                    f"{m.json_bytes / 1e3:.0f} kB of v1 JSON"
                )
    pictures = [m for m in results if m.kind == "picture"]
    if pictures:
        lines += ["", "annotate+jpeg 720p: one latest.jpg / MJPEG picture, mean ms (edge/bench/picture.py):"]
        for m in pictures:
            s = m.stages_ms
            lines.append(
                f"  {m.model}: {s['total']:.2f} ms (draw {s['annotate']:.2f}, encode {s['jpeg']:.2f}),"
                f" {s['detections']:.1f} detections, {m.frames} frames"
            )
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
