from __future__ import annotations

import pytest

from edge.errors import EdgeError
from edge.hosted.fallback import check_v1
from edge.models import load_spec
from tests.helpers import FIXTURE_MODELS


@pytest.mark.parametrize(
    ("model", "doc"),
    [
        ("shapes-detect.onnx", {"image": {"width": 4, "height": 4}, "predictions": [{"x": 1}]}),  # no width, class
        ("shapes-classify.onnx", {"image": {"width": 4, "height": 4}}),  # no predictions
        ("shapes-segment.onnx", {"predictions": []}),  # no image
    ],
)
def test_answers_that_are_not_the_tasks_v1_shape_are_refused(model: str, doc: dict) -> None:
    with pytest.raises((EdgeError, KeyError, ValueError, TypeError)):
        check_v1(load_spec(FIXTURE_MODELS / model), doc)


def test_a_real_v1_answer_passes() -> None:
    spec = load_spec(FIXTURE_MODELS / "shapes-detect.onnx")
    doc = {
        "image": {"width": 64, "height": 48},
        "predictions": [
            {"x": 10.0, "y": 10.0, "width": 4.0, "height": 4.0, "confidence": 0.9, "class": "circle", "class_id": 0}
        ],
    }
    check_v1(spec, doc)
