"""The crowd benchmark's files and the --multi case's arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from edge.bench.cases import CROWD_CLIP, CROWD_DETECT, CROWD_SEGMENT, crowd_files, crowd_inputs, multi_main
from edge.errors import EdgeError


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"model": None, "clip": None, "crowd_dir": None, "multi_threads": None, "repeat": 1}
    base.update(kw, warmup=0.0, duration=0.0, json=None)
    return argparse.Namespace(**base)


def test_missing_crowd_files_say_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(EdgeError, match=r"tools/make_crowd_benchmark\.py") as err:
        crowd_files(tmp_path)
    assert CROWD_CLIP in str(err.value) and "\n" not in str(err.value)


def test_crowd_inputs_are_segment_then_detect(tmp_path: Path) -> None:
    for rel in (CROWD_SEGMENT, CROWD_DETECT, CROWD_CLIP):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    models, clip = crowd_inputs(_args(crowd_dir=str(tmp_path)))
    assert models == [tmp_path / CROWD_SEGMENT, tmp_path / CROWD_DETECT] and clip == tmp_path / CROWD_CLIP
    models, clip = crowd_inputs(_args(crowd_dir=str(tmp_path), model=["a.onnx"], clip="c.mp4"))
    assert models == [Path("a.onnx")] and clip == Path("c.mp4")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"model": ["one.onnx"], "clip": "c.mp4"}, "two --model"),
        ({"model": ["a.onnx", "b.onnx"], "clip": "c.mp4", "multi_threads": "0,1"}, ">= 1"),
    ],
)
def test_multi_refuses_bad_arguments(kw: dict[str, object], message: str) -> None:
    with pytest.raises(EdgeError, match=message):
        multi_main(_args(**kw), "test machine")


@pytest.mark.parametrize(
    ("argv", "mode", "factor"),
    [
        ([], "accurate", 0.0),
        (["--mask-decode-mode", "fast"], "fast", 0.0),
        (["--mask-decode-mode", "tradeoff", "--tradeoff-factor", "0.5"], "tradeoff", 0.5),
    ],
)
def test_the_mask_decode_mode_reaches_the_bench_params(argv: list[str], mode: str, factor: float) -> None:
    from edge.bench.cli import _options, add_arguments

    ap = argparse.ArgumentParser()
    add_arguments(ap)
    params = _options(ap.parse_args(["--crowd-large", *argv])).params()
    assert (params.mask_decode_mode, params.tradeoff_factor) == (mode, factor)
    assert (params.confidence, params.overlap) == (0.25, 0.7)


def test_an_unknown_mask_decode_mode_is_refused() -> None:
    from edge.bench.cli import add_arguments

    ap = argparse.ArgumentParser()
    add_arguments(ap)
    with pytest.raises(SystemExit):
        ap.parse_args(["--mask-decode-mode", "quick"])
