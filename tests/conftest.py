from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import FIXTURE_MODELS

TASKS = ("detect", "segment", "pose", "classify", "multilabel", "semantic")


class FixtureModels(dict[str, Path]):
    """Paths of the committed fixture models; a missing one fails the test that needs it."""

    def __getitem__(self, task: str) -> Path:
        path = super().__getitem__(task)
        if not path.is_file():  # committed files: a missing one is a broken checkout, not a skip
            pytest.fail(f"fixture model missing: {path}; run tools/train_fixtures.py --tasks {task}")
        return path


@pytest.fixture(scope="session")
def fixture_models() -> FixtureModels:
    return FixtureModels({t: FIXTURE_MODELS / f"shapes-{t}.onnx" for t in TASKS})
