"""Every fixture model's real output validates against its task's v1 schema, empty cases included."""

from __future__ import annotations

import numpy as np
import pytest

from edge.demo.shapes import SceneKind, held_out
from edge.model import Model
from edge.tasks.params import InferenceParams
from tests.helpers import assert_v1_valid

CASES = [
    ("detect", SceneKind.DETECT, False),
    ("segment", SceneKind.DETECT, False),
    ("pose", SceneKind.POSE, False),
    ("classify", SceneKind.CLASSIFY, False),
    ("multilabel", SceneKind.MULTILABEL, True),
    ("semantic", SceneKind.DETECT, False),
]


@pytest.mark.parametrize(("task", "kind", "multi"), CASES)
def test_outputs_validate(fixture_models: dict, task: str, kind: SceneKind, multi: bool) -> None:
    blank = np.full((240, 320, 3), 128, dtype=np.uint8)  # nothing to find
    images = [s.image for s in held_out(99, 4, kind)] + [blank]
    with Model.open(fixture_models[task]) as model:
        preds = model.predict(images)
        # A confidence no class reaches: the "nothing above threshold" shapes.
        empty = model.predict([images[0]], InferenceParams(confidence=1.0))[0].to_v1()
    spec_task = model.spec.task.value
    for p in preds:
        assert_v1_valid(p.to_v1(), spec_task, multi)
    assert_v1_valid(empty, spec_task, multi)
    if task in ("detect", "segment", "pose"):
        assert preds[-1].to_v1()["predictions"] == [] and empty["predictions"] == []
    if task == "classify":
        assert empty["top"] == "" and empty["predictions"] == []
    if task == "multilabel":
        assert empty["predicted_classes"] == []
