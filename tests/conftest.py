from __future__ import annotations

import pytest

from tests.helpers import FIXTURE_MODELS

TASK_MODELS = {
    "detect": FIXTURE_MODELS / "shapes-detect.onnx",
    "segment": FIXTURE_MODELS / "shapes-segment.onnx",
    "pose": FIXTURE_MODELS / "shapes-pose.onnx",
    "classify": FIXTURE_MODELS / "shapes-classify.onnx",
    "multilabel": FIXTURE_MODELS / "shapes-multilabel.onnx",
    "semantic": FIXTURE_MODELS / "shapes-semantic.onnx",
}


@pytest.fixture(scope="session")
def fixture_models() -> dict[str, object]:
    missing = [str(p) for p in TASK_MODELS.values() if not p.is_file()]
    if missing:  # committed files: their absence is a broken checkout, not a reason to skip
        pytest.fail(f"fixture models missing: {missing}; run tools/train_fixtures.py")
    return dict(TASK_MODELS)
