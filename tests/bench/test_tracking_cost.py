"""`edge bench` reports the tracker's cost per frame at 20 and 100 objects."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import edge.bench.cli as bench_cli
import edge.tracking.bench as tracking_bench
from edge.tracking.bench import TrackingCost, format_costs, measure


def test_measure_times_the_tracker_and_a_whole_frame() -> None:
    cost = measure(20, frames=30)
    assert cost.objects == 20 and cost.target_ms == 1.0
    assert 0 < cost.update_cpu_ms < 100 and 0 < cost.update_ms < 100
    assert cost.frame_cpu_ms > 0 and cost.frame_ms > 0


def test_the_report_names_each_target_and_whether_it_is_met() -> None:
    text = format_costs([TrackingCost(20, 0.5, 0.4, 0.9, 0.8), TrackingCost(100, 4.0, 3.5, 6.0, 5.0)])
    rows = text.splitlines()[2:]
    assert rows[0].split()[0] == "20" and rows[0].endswith("1 ms ok")
    assert rows[1].split()[0] == "100" and rows[1].endswith("3 ms OVER")


def test_edge_bench_prints_the_tracking_section(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(bench_cli, "run_bench", lambda *a, **k: [])  # the model runs are tested elsewhere
    monkeypatch.setattr(tracking_bench, "BENCH_FRAMES", 20)
    parser = argparse.ArgumentParser()
    bench_cli.add_arguments(parser)
    assert bench_cli.bench_main(parser.parse_args(["--clip", str(tmp_path / "unused.mp4")])) == 0
    out = capsys.readouterr().out
    assert "tracker cost per frame" in out
    assert [line.split()[0] for line in out.splitlines() if line.strip().endswith(("ok", "OVER"))] == ["20", "100"]
    assert bench_cli.bench_main(parser.parse_args(["--clip", "x.mp4", "--no-tracking"])) == 0
    assert "tracker cost" not in capsys.readouterr().out
