"""Held-out accuracy of the committed fixture models, on a small set (the tool scores 200/task)."""

from __future__ import annotations

import pytest

from edge.demo.fixture_scores import FIXTURE_TARGETS, evaluate_fixture

SEED = 31337  # never used for training (0, 1000) nor for the golden set (777)
COUNT = 24


@pytest.mark.parametrize("task", list(FIXTURE_TARGETS))
def test_fixture_model_meets_its_targets(fixture_models: dict, task: str) -> None:
    scores = evaluate_fixture(fixture_models[task], task, COUNT, SEED)
    for metric, target in FIXTURE_TARGETS[task].items():
        assert scores[metric] >= target, f"{task} {metric} = {scores[metric]:.3f} < {target}"
