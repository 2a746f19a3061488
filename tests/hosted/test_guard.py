from __future__ import annotations

import logging

import pytest

from edge.hosted.budget import DailyBudget
from edge.hosted.client import HostedError
from edge.hosted.config import HostedConfig
from edge.hosted.guard import MAX_PAUSE, Breaker, Guard, RateLimit
from edge.messages import ModelNotice
from edge.publish.config import SecretRef


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_rate_limit_allows_a_burst_then_the_rate() -> None:
    clock = Clock()
    limit = RateLimit(2.0, clock=clock)
    assert [limit.take() for _ in range(3)] == [True, True, False]  # burst of two
    clock.t = 0.5
    assert limit.take() and not limit.take()  # one more after half a second at 2/s
    clock.t = 100.0
    assert [limit.take() for _ in range(3)] == [True, True, False]  # idle time does not bank more than a burst


def test_the_breaker_opens_after_n_failures_probes_once_and_doubles_its_pause() -> None:
    clock = Clock()
    b = Breaker(3, 10.0, clock)
    for _ in range(2):
        b.failure()
    assert b.state == "closed" and b.allow()
    b.success()  # an answer resets the count: failures must be consecutive
    for _ in range(3):
        b.failure()
    assert b.state == "open" and not b.allow() and not b.due()
    clock.t = 9.9
    assert not b.allow()
    clock.t = 10.0
    assert b.due() and b.allow() and b.state == "half-open"
    assert not b.allow()  # one probe at a time
    b.failure()
    assert (b.state, b.pause) == ("open", 20.0)
    clock.t = 29.9
    assert not b.allow()
    clock.t = 30.0
    assert b.allow()
    b.success()
    assert (b.state, b.pause) == ("closed", 10.0) and b.allow()


def test_the_pause_stops_doubling_at_ten_minutes() -> None:
    clock = Clock()
    b = Breaker(1, 100.0, clock)
    b.failure()
    pauses = []
    for _ in range(6):
        clock.t += b.pause
        assert b.allow()
        b.failure()
        pauses.append(b.pause)
    assert pauses == [200.0, 400.0, MAX_PAUSE, MAX_PAUSE, MAX_PAUSE, MAX_PAUSE]


def config(**kw: object) -> HostedConfig:
    return HostedConfig("shapes/1", SecretRef("env", "K"), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "HTTP 401: the API refused the key"),
        (403, "HTTP 403: the key may not use this model"),
        (402, "HTTP 402: the workspace is out of credits"),
    ],
)
def test_key_and_credit_refusals_switch_the_fallback_off_with_one_line_and_a_notice(
    status: int, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    notices: list[ModelNotice] = []
    guard = Guard("det", config(), "hosted API http://x/shapes/1", notify=notices.append)
    assert guard.accepts()
    guard.admit(first=True)
    with caplog.at_level(logging.INFO, "edge.hosted"):
        guard.record(status, 1000)
        guard.record(status, 1000)  # a second request in flight at the time: no second line
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert lines[0].startswith("model det: hosted fallback off until the config is reloaded or the daemon restarts: ")
    assert says in lines[0] and "hosted API http://x/shapes/1" in lines[0]
    assert [(n.model, n.state) for n in notices] == [("det", "off")] and says in notices[0].reason
    assert not guard.accepts()
    with pytest.raises(HostedError, match="not sent: the fallback is off") as info:
        guard.admit(first=True)
    assert not info.value.sent
    stats = guard.stats()
    assert stats.state == f"off: HTTP {status}" and stats.failed == {str(status): 2}


def test_stats_count_requests_answers_failures_and_bytes() -> None:
    clock = Clock()
    guard = Guard("det", config(breaker_failures=2), "w", DailyBudget(10, None), clock=clock)
    for status, size in [(200, 100), (503, 300), (None, 200)]:
        guard.admit(first=True)
        guard.record(status, size)
    s = guard.stats()
    assert (s.sent, s.answered, s.failed, s.breaker, s.left_today) == (3, 1, {"503": 1, "none": 1}, "open", 7)
    assert (s.upload_bytes_mean, s.upload_bytes_last, s.state) == (200, 200, "on")
    with pytest.raises(HostedError, match="breaker is open"):
        guard.admit(first=True)


def test_a_413_does_not_count_towards_the_breaker() -> None:
    guard = Guard("det", config(breaker_failures=1), "w")
    guard.admit(first=True)
    guard.record(413, 10)
    assert guard.stats().breaker == "closed" and guard.stats().failed == {"413": 1}


def test_retries_wait_for_the_rate_limit() -> None:
    clock = Clock()
    guard = Guard("det", config(max_rate=1.0, timeout=0.2), "w", clock=clock)
    assert guard.accepts()  # the frame's token
    guard.admit(first=True)
    with pytest.raises(HostedError, match="max_rate reached while retrying"):
        guard.admit(first=False)  # the clock stands still: no token comes
    clock.t = 1.0
    guard.admit(first=False)
    assert guard.stats().sent == 2
