from __future__ import annotations

import numpy as np
import pytest

from edge.tasks import boxes
from edge.tasks.boxes import box_iou, cxcywh_to_xyxy, nms
from tests.tasks.kernels import kernel  # noqa: F401  (autouse: each test on both paths)


def test_cxcywh_to_xyxy() -> None:
    np.testing.assert_allclose(cxcywh_to_xyxy(np.array([[10.0, 20.0, 4.0, 6.0]])), [[8, 17, 12, 23]])


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),  # identical
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),  # half overlap
        ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),  # disjoint
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),  # degenerate: no division by zero
    ],
)
def test_box_iou(a: list[float], b: list[float], iou: float) -> None:
    assert box_iou(np.array([a], float), np.array([b], float))[0, 0] == pytest.approx(iou)


BOXES = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], dtype=float)
SCORES = np.array([0.9, 0.8, 0.7, 0.6])


@pytest.mark.parametrize(
    ("classes", "iou", "max_keep", "kept"),
    [
        ([0, 0, 0, 0], 0.5, 300, [0, 3]),  # overlapping boxes of one class: best survives
        ([0, 0, 1, 0], 0.5, 300, [0, 2, 3]),  # another class is never suppressed
        ([0, 0, 0, 0], 0.68, 300, [0, 3]),  # the shifted box has IoU 0.681 > 0.68: suppressed
        ([0, 0, 0, 0], 0.7, 300, [0, 1, 3]),  # ... but not above 0.7: kept
        ([0, 1, 2, 3], 0.5, 2, [0, 1]),  # max_keep bounds the output
    ],
)
def test_nms(classes: list[int], iou: float, max_keep: int, kept: list[int]) -> None:
    got = nms(BOXES, SCORES, np.array(classes), iou, max_keep)
    assert got.tolist() == kept


def test_nms_empty() -> None:
    assert nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), 0.5, 10).size == 0


@pytest.mark.parametrize(("n", "classes", "max_keep"), [(40, 1, 300), (400, 3, 300), (400, 2, 7), (900, 4, 300)])
def test_nms_all_pairs_at_once_keeps_what_the_loop_keeps(
    monkeypatch: pytest.MonkeyPatch, n: int, classes: int, max_keep: int
) -> None:
    rng = np.random.default_rng(n)
    ctr, wh = rng.uniform(0, 300, (n, 2)), rng.uniform(5, 60, (n, 2))
    xyxy = np.concatenate([ctr - wh / 2, ctr + wh / 2], axis=1)
    scores = rng.choice(np.linspace(0.3, 0.9, 50), n).astype(np.float32)  # ties: order must stay stable
    cls = rng.integers(0, classes, n)
    monkeypatch.setattr(boxes, "_MATRIX_NMS_MAX", 10**6)
    matrix = nms(xyxy, scores, cls, 0.45, max_keep)
    monkeypatch.setattr(boxes, "_MATRIX_NMS_MAX", 0)
    loop = nms(xyxy, scores, cls, 0.45, max_keep)
    assert len(loop) > 5
    np.testing.assert_array_equal(matrix, loop)
