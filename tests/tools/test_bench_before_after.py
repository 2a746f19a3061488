"""tools/bench_before_after.py: its measurement runs on a checkout and its report compares two."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from tests.helpers import FIXTURE_MODELS
from tools.bench_before_after import CHILD, ROOT, STAGES, _child, _report


def _args(tmp_path: Path) -> argparse.Namespace:
    clip = cached_clip(tmp_path, ClipSpec(ClipKind.SHAPES, 320, 240, 30.0, 4))
    return argparse.Namespace(
        model=FIXTURE_MODELS / "shapes-segment.onnx", clip=clip, frames=3, confidence=0.25, overlap=0.7, before="old"
    )


def test_the_measurement_runs_on_this_checkout_and_reports_every_stage(tmp_path: Path) -> None:
    script = tmp_path / "measure.py"
    script.write_text(CHILD)
    a = _args(tmp_path)
    run = _child(ROOT, script, a)
    ms = run["ms"]
    assert isinstance(ms, dict) and set(STAGES) <= set(ms)
    assert run["frames"] == 3 and float(str(run["bytes"])) > 100 and ms["masks"] > 0
    slower = dict(run, ms={k: 2 * v for k, v in ms.items()}, digest="other")
    report = _report([{"before": slower, "after": run}], a)
    assert "total" in report and "0.50" in report  # after is half of before, stage by stage
    assert "DIFFERENT" in report  # the digests differ
    assert "the same bits" in _report([{"before": run, "after": run}], a)
