from __future__ import annotations

import numpy as np
import pytest

from edge.tasks.classification import Classification, decode_classification, to_probabilities
from edge.tasks.v1 import ImageSize
from tests.helpers import assert_v1_valid

NAMES = ("circle", "square", "triangle")
IMG = ImageSize(224, 224)


@pytest.mark.parametrize(
    ("scores", "multi", "already", "expected"),
    [
        ([2.0, 0.0, 0.0], False, None, [0.7870, 0.1065, 0.1065]),  # logits: softmax
        ([0.7, 0.2, 0.1], False, None, [0.7, 0.2, 0.1]),  # already probabilities
        ([0.7, 0.2, 0.1], False, False, [0.4640, 0.2814, 0.2546]),  # told they are logits
        ([2.0, -2.0, 0.0], True, None, [0.8808, 0.1192, 0.5]),  # multi-label logits: sigmoid
        ([0.9, 0.8, 0.1], True, None, [0.9, 0.8, 0.1]),  # multi-label probabilities
    ],
)
def test_probabilities(scores: list[float], multi: bool, already: bool | None, expected: list[float]) -> None:
    np.testing.assert_allclose(to_probabilities(np.array(scores), multi, already), expected, atol=1e-4)


def test_single_label_lists_classes_above_threshold_best_first() -> None:
    r = decode_classification(np.array([0.3, 0.15, 0.55]), IMG, NAMES, False, True, 0.25)
    doc = r.to_v1(inference_id="i", time=0.0)
    assert_v1_valid(doc, "classification")
    assert [p["class"] for p in doc["predictions"]] == ["triangle", "circle"]
    assert doc["top"] == "triangle" and doc["confidence"] == 0.55
    assert doc["predictions"][0]["class_id"] == 2


def test_single_label_nothing_above_threshold() -> None:
    doc = decode_classification(np.array([0.3, 0.3, 0.4]), IMG, NAMES, False, True, 0.9).to_v1("i", 0.0)
    assert_v1_valid(doc, "classification")
    assert doc["predictions"] == [] and doc["top"] == "" and doc["confidence"] == 0.0


def test_confidence_rounded_to_four_places() -> None:
    doc = decode_classification(np.array([0.123456, 0.2, 0.676544]), IMG, NAMES, False, True, 0.1).to_v1()
    assert doc["confidence"] == 0.6765


def test_multi_label_lists_every_class_and_predicted_ones() -> None:
    r = decode_classification(np.array([0.9, 0.2, 0.6]), IMG, NAMES, True, True, 0.5)
    doc = r.to_v1(inference_id="i", time=0.0)
    assert_v1_valid(doc, "classification", multi_label=True)
    assert set(doc["predictions"]) == set(NAMES)
    assert doc["predictions"]["square"] == {"confidence": pytest.approx(0.2), "class_id": 1}
    assert doc["predicted_classes"] == ["circle", "triangle"]
    assert "top" not in doc


@pytest.mark.parametrize("multi", [False, True])
def test_from_v1_round_trip(multi: bool) -> None:
    r = decode_classification(np.array([0.6, 0.1, 0.3]), IMG, NAMES, multi, True, 0.2)
    back = Classification.from_v1(r.to_v1(), NAMES, threshold=0.2)
    assert back.multi_label is multi
    assert back.predicted.tolist() == r.predicted.tolist()
