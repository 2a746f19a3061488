"""The self-check's verdict logic (the TensorRT part runs only on a device)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edge.tasks.classification import Classification
from edge.tasks.detection import Detections
from edge.tasks.semantic_segmentation import SemanticSegmentation
from edge.tasks.v1 import ImageSize
from tools.jetson_selfcheck import Agreement, compare, judge

NAMES = ("circle", "square")
SIZE = ImageSize(100, 100)


def _dets(*rows: tuple[float, float, float, float, float, int]) -> Detections:
    a = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return Detections(a[:, :4], a[:, 4].astype(np.float32), a[:, 5].astype(np.int64), NAMES, SIZE)


REF = _dets((10, 10, 50, 50, 0.9, 0), (60, 60, 90, 90, 0.3, 1))


@pytest.mark.parametrize(
    ("got", "ok", "problem"),
    [
        (_dets((10, 10, 50, 51, 0.88, 0), (60, 60, 90, 90, 0.26, 1)), True, None),
        (_dets((10, 10, 50, 51, 0.88, 0)), True, None),  # the unconfident one may flicker
        (_dets((60, 60, 90, 90, 0.3, 1)), False, "reference circle 0.90 has no counterpart"),
        (_dets((10, 10, 50, 50, 0.9, 1), (60, 60, 90, 90, 0.3, 1)), False, "has no counterpart"),  # wrong class
        (_dets((10, 10, 50, 50, 0.9, 0), (20, 70, 30, 80, 0.7, 1)), False, "engine square 0.70 has no counterpart"),
        (_dets((14, 14, 54, 54, 0.9, 0)), False, "mean box IoU"),  # found, but the box moved
    ],
)
def test_detection_verdicts(got: Detections, ok: bool, problem: str | None) -> None:
    agg = Agreement()
    compare(REF, got, agg, "image 0")
    judge(agg)
    assert agg.ok is ok
    if problem:
        assert any(problem in p for p in agg.problems), agg.problems


def test_classification_and_semantic_verdicts() -> None:
    agg = Agreement()
    ref = Classification(np.array([0.7, 0.3], np.float32), NAMES, SIZE)
    compare(ref, Classification(np.array([0.69, 0.31], np.float32), NAMES, SIZE), agg, "a")
    assert agg.ok
    compare(ref, Classification(np.array([0.45, 0.55], np.float32), NAMES, SIZE), agg, "b")
    assert not agg.ok and "top-1 0 vs 1" in agg.problems[0]

    sem = Agreement()
    m = np.zeros((100, 100), np.uint8)
    m2 = m.copy()
    m2[:5] = 1  # 5% of the pixels differ
    compare(SemanticSegmentation(m, NAMES, SIZE), SemanticSegmentation(m, NAMES, SIZE), sem, "c")
    assert sem.ok
    compare(SemanticSegmentation(m, NAMES, SIZE), SemanticSegmentation(m2, NAMES, SIZE), sem, "d")
    assert "95.0% of pixels" in sem.problems[0]


@pytest.mark.parametrize(
    ("argv", "ok"),
    [
        (["--precision", "int8", "--calibration", "frames"], True),
        (["--precision", "int8"], False),  # int8 cannot calibrate without images
        (["--calibration", "frames"], False),  # calibration images mean nothing to fp16
        ([], True),
    ],
)
def test_int8_takes_a_calibration_folder(argv: list[str], ok: bool) -> None:
    from pathlib import Path

    from tools.jetson_selfcheck import parse_args

    if ok:
        args = parse_args(argv)
        assert args.calibration == (Path("frames") if "--calibration" in argv else None)
    else:
        with pytest.raises(SystemExit):
            parse_args(argv)


def test_the_kernel_check_loads_the_shipped_ptx_and_frees_its_stream_in_the_context(
    fake_gpu: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from edge.models import load_spec
    from tests.engines.common import detect_model
    from tests.gpu import cpu_kernel
    from tools.jetson_selfcheck import kernel_difference

    if cpu_kernel.compiler() is None:
        pytest.skip("no C++ compiler to run the preprocessing kernel on the CPU")
    fake_gpu.kernel = cpu_kernel.build(tmp_path_factory.mktemp("kernel"))
    spec = load_spec(detect_model(tmp_path_factory.mktemp("model")))
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (48 + 9 * i, 80 - 5 * i, 3), dtype=np.uint8) for i in range(3)]
    assert kernel_difference(spec, images) <= 1.0
    assert fake_gpu.kernel_loads == 1 and fake_gpu.compiles == 0
    assert fake_gpu.streams_destroyed == [1] and fake_gpu.context_depth == 0
