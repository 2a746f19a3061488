"""The large-object crowd case (``edge bench --crowd-large``): its maker and its report rows.

A tiny case (320x192 frames, 160x160 input, a dozen slots) keeps this fast; the benchmark's
own files are the same code at full size (tools/make_large_crowd.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pytest

from edge.bench.cases import LARGE_THRESHOLDS, case_thresholds, crowd_inputs, large_crowd_files
from edge.bench.memory import AnonPeak, anon_rss_mb, peak_rss_mb
from edge.bench.report import Measurement, format_report
from edge.bench.stages import CPU_STAGES, STAGES, stage_profile
from edge.errors import EdgeError
from edge.model import Model
from edge.preprocess import preprocess
from edge.tasks.decode import decode_batch
from edge.tasks.params import InferenceParams
from tools.make_large_crowd import Spec, make, read_frames

TINY = Spec(width=320, height=192, frames=4, imgsz=160, depth=0, slots=14, instances=9, seed=5)
PARAMS = InferenceParams(confidence=LARGE_THRESHOLDS[0], overlap=LARGE_THRESHOLDS[1])


@pytest.fixture(scope="module")
def tiny_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make(TINY, tmp_path_factory.mktemp("large-crowd"), codec="mp4v", verbose=False)


def _results(model_path: Path, clip: Path) -> list:  # type: ignore[type-arg]
    with Model.open(model_path) as m:
        names = [o.name for o in m.backend.outputs]
        out = []
        for frame in read_frames(clip, 1):
            tensor, geoms = preprocess([frame], m.spec.preprocess)
            out.append(decode_batch(m.spec, m.backend.infer(tensor), geoms, PARAMS, names)[0])
        return out


def test_the_models_are_calibrated_and_detection_finds_the_segmentation_boxes(tiny_case: tuple[Path, ...]) -> None:
    segment, detect, clip = tiny_case
    segs, dets = _results(segment, clip), _results(detect, clip)
    counts = [len(r.confidence) for r in segs]
    assert len(counts) == TINY.frames
    assert abs(float(np.median(counts)) - TINY.instances) <= 1  # the bisection's target
    for s, d in zip(segs, dets):
        np.testing.assert_allclose(s.xyxy, d.xyxy, atol=1e-3)
    # Masks are box-sized and ragged: outlines of more than a box's four corners.
    verts = [len(p) for r in segs for p in r.polygons()]
    assert np.median(verts) > 4


def test_the_maker_is_deterministic(tiny_case: tuple[Path, ...], tmp_path: Path) -> None:
    again = make(TINY, tmp_path, codec="mp4v", verbose=False)
    assert again[0].read_bytes() == tiny_case[0].read_bytes()


def test_the_stage_split_has_every_row_and_the_json_size(tiny_case: tuple[Path, ...]) -> None:
    segment, _, clip = tiny_case
    with Model.open(segment) as m:
        prof = stage_profile(m, clip, frames=TINY.frames, params=PARAMS)
    assert tuple(prof.ms) == STAGES and prof.frames == TINY.frames
    assert prof.ms["masks"] > 0 and prof.ms["polygons"] > 0 and prof.ms["json"] > 0
    assert prof.json_bytes > 1000 and prof.instances == pytest.approx(TINY.instances, abs=1.5)
    assert prof.outside_inference_ms == pytest.approx(sum(prof.ms[k] for k in CPU_STAGES))
    loop = Measurement(
        "loop", "large.onnx", 1, 4, 10.0, stages_ms=prof.ms, json_bytes=prof.json_bytes, instances_per_frame=9.0
    )
    report = format_report([loop], "test machine")
    assert "masks" in report and "outside inference" in report and "kB of v1 JSON" in report


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"model": None, "clip": None, "crowd_dir": None, "crowd_large": True}
    base.update(kw)
    return argparse.Namespace(**base)


def test_crowd_large_picks_its_files_and_thresholds(tiny_case: tuple[Path, ...], tmp_path: Path) -> None:
    segment, detect, clip = tiny_case
    root = segment.parents[1]
    assert large_crowd_files(root) == (segment, detect, clip)
    assert crowd_inputs(_args(crowd_dir=str(root))) == ([segment, detect], clip)
    assert case_thresholds(_args()) == LARGE_THRESHOLDS
    assert case_thresholds(_args(confidence=0.5)) == (0.5, LARGE_THRESHOLDS[1])
    assert case_thresholds(_args(crowd_large=False)) == (None, None)
    with pytest.raises(EdgeError, match=r"tools/make_large_crowd\.py"):
        large_crowd_files(tmp_path)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t1024 kB\n", 200.0), ("VmHWM:\t1536 kB\n", 1.5)],
)
def test_peak_memory_is_the_processs_own_high_water_mark(tmp_path: Path, status: str, expected: float) -> None:
    f = tmp_path / "status"
    f.write_text(status)
    assert peak_rss_mb(f) == expected


def test_peak_memory_without_proc_falls_back_to_rusage(tmp_path: Path) -> None:
    assert peak_rss_mb(tmp_path / "absent") > 1.0
    assert peak_rss_mb() > 1.0  # this process's real VmHWM


def test_the_anonymous_peak_is_sampled_while_the_block_runs(tmp_path: Path) -> None:
    """The highest RssAnon seen, not the last: a status file that rises and falls."""
    f = tmp_path / "status"
    f.write_text("RssAnon:\t  102400 kB\nRssFile:\t999999 kB\n")
    assert anon_rss_mb(f) == 100.0 and anon_rss_mb(tmp_path / "absent") == 0.0
    with AnonPeak(period_s=0.001, status=f) as sampler:
        for kb in (307200, 204800):
            time.sleep(0.05)
            f.write_text(f"RssAnon:\t{kb} kB\n")
        time.sleep(0.05)
    assert sampler.peak_mb == 300.0
    with AnonPeak() as real:  # this process's own
        blob = bytearray(64 << 20)
        time.sleep(0.05)
    assert real.peak_mb >= 64 and len(blob) == 64 << 20
