from __future__ import annotations

import pytest

from edge.pipeline.outcomes import HostedOutcomes


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("hosted: hosted API http://b:9001/shapes/1: HTTP 503: busy (gave up after 3 attempts)", "503"),
        ("hosted: hosted API https://detect.roboflow.com/x/1: HTTP 401: Unauthorized", "401"),
        ("hosted: hosted API http://b:9001/shapes/1: no answer: timed out (gave up after 3 attempts)", "error"),
        ("hosted: KeyError: 'predictions'", "error"),
    ],
)
def test_failures_are_counted_by_the_status_in_their_message(message: str, status: str) -> None:
    outcomes = HostedOutcomes()
    outcomes.answered("det")
    outcomes.failed("det", message, 2)
    assert outcomes.snapshot() == {("det", "200"): 1, ("det", status): 2}
