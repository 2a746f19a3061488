"""The admission estimate: a request that would wait past max_wait behind those queued is
refused at once, going by how fast the worker has answered requests while they queued."""

from __future__ import annotations

import pytest

from edge.pipeline.request import RequestRefused
from edge.serve.submit import Submitter, _Load


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("answers", "in_flight", "wait"),
    [
        ([], 10, 0.0),  # nothing answered yet: no estimate, admitted
        ([(0.5, 0)], 4, 0.0),  # one answer, nothing queued behind it: no service time known
        ([(0.5, 3), (0.5, 2), (0.5, 1)], 4, 2.0),  # queued answers 0.5 s apart: 4 x 0.5 s ahead
        ([(0.5, 3), (0.5, 0), (9.0, 2), (0.5, 1)], 2, 1.0),  # the 9 s after the queue emptied is not a sample
    ],
    ids=["none", "idle", "busy", "idle gap"],
)
def test_the_expected_wait_follows_busy_answers(
    monkeypatch: pytest.MonkeyPatch, answers: list[tuple[float, int]], in_flight: int, wait: float
) -> None:
    clock = _Clock()
    monkeypatch.setattr("edge.serve.submit.time.monotonic", clock)
    load = _Load()
    for gap, still_waiting in answers:
        clock.now += gap
        load.in_flight = still_waiting
        load.done()
    load.in_flight = in_flight
    assert load.expected_wait() == pytest.approx(wait)


def test_admit_refuses_with_503_and_says_why() -> None:
    submitter = Submitter(pipeline=None, max_wait=2.0)  # type: ignore[arg-type]  # admit needs no pipeline
    submitter.admit("det")  # nothing known: admitted
    load = submitter._loads["det"]
    load.interval, load.in_flight = 0.5, 5
    with pytest.raises(RequestRefused) as refused:
        submitter.admit("det")
    assert refused.value.status == 503 and refused.value.retry_after == 1.0
    assert "5 requests already wait" in str(refused.value) and "http.max_wait is 2 s" in str(refused.value)
    load.in_flight = 4  # 4 x 0.5 s = max_wait: still admitted
    submitter.admit("det")
