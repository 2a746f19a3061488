"""`edge bench --multi`: two models on two live streams, the default against hand settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.bench.multi import DETECT, SEGMENT, ModelFigures, MultiReport, MultiRun, format_multi, run_multi
from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from tests.helpers import FIXTURE_MODELS


def _run(threads: int | None, per_s: float) -> MultiRun:
    figures = ModelFigures(int(per_s * 10), per_s, 0.1, 0.2)
    return MultiRun(threads, 10.0, {DETECT: figures, SEGMENT: figures}, 200.0)


@pytest.mark.parametrize(
    ("rounds", "want"),
    [
        ([[(None, 5.0), (1, 5.0), (2, 2.5)]], 1.0),  # compared with the best hand setting, not the first
        ([[(None, 4.0), (1, 5.0)], [(None, 6.0), (1, 5.0)], [(None, 5.0), (1, 5.0)]], 1.0),  # median of rounds
        ([[(None, 3.0), (1, 6.0), (2, 4.0)]], 0.5),
        ([[(1, 6.0), (2, 4.0)]], None),  # no default run: no ratio
    ],
)
def test_ratio_is_default_over_best_hand_setting_per_round(
    rounds: list[list[tuple[int | None, float]]], want: float | None
) -> None:
    report = MultiReport([[_run(t, p / 2) for t, p in r] for r in rounds])
    assert report.ratio() == (pytest.approx(want) if want is not None else None)


def test_multi_runs_each_setting_in_its_own_process(tmp_path: Path) -> None:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 320, 240, 30.0, 30))
    det, seg = FIXTURE_MODELS / "shapes-detect.onnx", FIXTURE_MODELS / "shapes-segment.onnx"
    report = run_multi(det, seg, clip, [1], rounds=1, warmup=1.0, duration=2.0)
    (runs,) = report.rounds
    assert [r.threads for r in runs] == [None, 1]
    for r in runs:
        assert r.models[DETECT].results > 0 and r.models[SEGMENT].results > 0
        # Detection runs on both streams, segmentation on one: at most as many results.
        assert r.models[DETECT].results >= r.models[SEGMENT].results
        assert 0 < r.models[DETECT].p50 <= r.models[DETECT].p95
        assert r.peak_rss_mb > 50
    text = format_multi(report, "test machine")
    assert "default / best threads: setting" in text
    assert any(line.startswith("default ") for line in text.splitlines())
