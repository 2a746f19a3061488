"""`edge bench` is a benchmark, not a test; this only keeps it working."""

from __future__ import annotations

from pathlib import Path

from edge.bench.cli import BenchOptions, larger_input, run_bench
from edge.bench.report import format_report
from edge.bench.stages import STAGES
from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from tests.helpers import FIXTURE_MODELS


def test_bench_pairs_raw_and_pipeline_runs_in_child_processes(tmp_path: Path) -> None:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 160, 120, 30.0, 20))
    # Two instances, as the daemon's budget gives a lone model on a 2-core machine.
    opts = BenchOptions(instances=2)
    results = run_bench([FIXTURE_MODELS / "shapes-detect.onnx"], clip, [1, 2], frames=20, repeat=2, opts=opts)
    raw, at_once, loop, one, two = results
    kinds = (raw.kind, at_once.kind, loop.kind, one.kind, two.kind)
    assert kinds == ("raw", "raw_inflight", "loop", "pipeline", "pipeline")
    assert loop.frames == 20 and loop.ratio is not None
    assert (one.frames, two.frames) == (20, 40)
    assert len(raw.runs) == len(one.runs) == len(at_once.runs) == 2
    assert all(m.fps > 0 for m in results)
    # The pipeline's peak is its own process's (the raw side's second session not counted).
    assert all(m.peak_rss_mb > 50 for m in (raw, loop, one, two))
    assert (at_once.instances, one.instances) == (2, 2)
    for ratio in (one.ratio, one.ratio_inflight, at_once.ratio):
        assert ratio is not None and 0 < ratio < 5
    assert set(one.stages_ms) == {"capture", "queue", "preprocess", "wait", "infer", "postprocess", "total"}
    assert set(loop.stages_ms) == set(STAGES) and loop.stages_ms["infer"] > 0
    report = format_report(results, "test machine")
    assert "x raw" in report and "2 streams" in report and "plain loop" in report
    assert "raw, 2 at once" in report and "x at once" in report
    assert "step by step" in report


def test_larger_input_keeps_weights_and_changes_the_input(tmp_path: Path) -> None:
    from edge.models import load_spec

    bigger = larger_input(FIXTURE_MODELS / "shapes-detect.onnx", 640, tmp_path)
    spec = load_spec(bigger)
    assert (spec.preprocess.width, spec.preprocess.height) == (640, 640)
    assert bigger.stat().st_size == (FIXTURE_MODELS / "shapes-detect.onnx").stat().st_size
