"""`edge bench` is a benchmark, not a test; this only keeps it working."""

from __future__ import annotations

from pathlib import Path

from edge.bench import format_report, run_bench
from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from tests.helpers import FIXTURE_MODELS


def test_bench_measures_raw_and_pipeline_runs_in_child_processes(tmp_path: Path) -> None:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 160, 120, 30.0, 20))
    results = run_bench([FIXTURE_MODELS / "shapes-detect.onnx"], clip, [1, 2], frames=20)
    raw, one, two = results
    assert (raw.kind, one.kind, two.kind) == ("raw", "pipeline", "pipeline")
    assert (one.frames, two.frames) == (20, 40)
    assert all(m.fps > 0 and m.peak_rss_mb > 50 for m in results)
    assert set(one.stages_ms) == {"capture", "queue", "preprocess", "wait", "infer", "postprocess", "total"}
    report = format_report(results, "test machine")
    assert "x raw" in report and "2 streams" in report
