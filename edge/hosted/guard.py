"""What keeps one model's hosted fallback bounded: rate, daily limit, breaker and off switch.

Every request attempt, retries included, passes :meth:`Guard.admit` first and reports back
through :meth:`Guard.record`. The guard:

* counts each attempt against ``max_rate`` (a retry waits for a token) and ``daily_limit``;
* opens a circuit breaker after ``breaker_failures`` consecutive failed requests: no request
  for ``breaker_pause`` seconds, then one probe; a failed probe doubles the pause (at most
  :data:`MAX_PAUSE`), an answered one closes the breaker;
* switches the fallback off after 401, 403 (the key) or 402 (credits), until the config is
  reloaded or the daemon restarts, and says so on the status topic.

Each state change is one log line; the key is never in any of them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from edge.hosted.budget import DailyBudget, utc_day
from edge.hosted.client import HostedError
from edge.hosted.config import HostedConfig
from edge.messages import HostedStats, ModelNotice

log = logging.getLogger("edge.hosted")

MAX_PAUSE = 600.0  # the breaker's longest pause, seconds
_OFF = {
    401: "the API refused the key: check hosted.api_key",
    403: "the key may not use this model: check hosted.api_key and hosted.model_id",
    402: "the workspace is out of credits or over its plan: check its billing page",
}
_NOT_FAILURES = frozenset({413})  # a size problem the client fixes by shrinking, not a sick API

Clock = Callable[[], float]
Notify = Callable[[ModelNotice], None]


class RateLimit:
    """A token bucket: ``rate`` per second, bursts up to ``burst``. Thread-safe."""

    def __init__(self, rate: float, burst: float | None = None, clock: Clock = time.monotonic) -> None:
        self._rate, self._burst = rate, burst or max(1.0, rate)
        self._tokens = self._burst
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def wait(self, timeout: float) -> bool:
        """Take a token, waiting up to ``timeout`` seconds for one."""
        deadline = time.monotonic() + timeout
        while not self.take():
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.05, 1.0 / self._rate))
        return True


class Breaker:
    """Closed -> open after ``failures`` in a row -> half-open (one probe) after the pause."""

    def __init__(self, failures: int, pause: float, clock: Clock = time.monotonic) -> None:
        self._failures, self._base = failures, pause
        self._clock = clock
        self.state = "closed"
        self.pause = pause
        self._count = 0
        self._opened = 0.0

    def due(self) -> bool:
        """A request would be let through now (no probe is taken)."""
        if self.state == "open":
            return self._clock() >= self._opened + self.pause
        return self.state == "closed"

    def allow(self) -> bool:
        """Let one request through; once the pause is over, that one is the probe."""
        if self.state == "open" and self.due():
            self.state = "half-open"
            return True
        return self.state == "closed"

    def success(self) -> None:
        self._count = 0
        self.state, self.pause = "closed", self._base

    def failure(self) -> None:
        if self.state == "half-open":  # the probe failed: wait twice as long
            self.state, self.pause, self._opened = "open", min(self.pause * 2, MAX_PAUSE), self._clock()
        elif self.state == "closed":
            self._count += 1
            if self._count >= self._failures:
                self.state, self._opened = "open", self._clock()
        # open: a request sent before it opened; it changes nothing


class Guard:
    """The :class:`~edge.hosted.client.Gate` of one model's requests, and their counters."""

    def __init__(
        self,
        model: str,
        config: HostedConfig,
        where: str,
        budget: DailyBudget | None = None,
        notify: Notify | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.model, self._where = model, where
        self._rate = RateLimit(config.max_rate, clock=clock)
        self._breaker = Breaker(config.breaker_failures, config.breaker_pause, clock)
        self._budget = budget
        self._notify = notify
        self._retry_wait = config.timeout
        self._lock = threading.Lock()
        self._off: str | None = None
        self._limit_day = ""  # the UTC day the daily_limit line was logged
        self._sent = self._answered = self._bytes = self._last_bytes = 0
        self._failed: dict[str, int] = {}

    def accepts(self) -> bool:
        """Whether to take a frame now (this takes a rate token when it does)."""
        with self._lock:
            if self._off is not None or not self._breaker.due():
                return False
        if self._budget is not None and self._budget.left() <= 0:
            self._limit_reached()
            return False
        return self._rate.take()

    def admit(self, first: bool) -> None:
        with self._lock:
            if self._off is not None:
                raise HostedError(f"not sent: the fallback is off ({self._off})", sent=False)
            before = self._breaker.state
            if not self._breaker.allow():
                raise HostedError("not sent: the breaker is open", sent=False)
            if before == "open":
                log.warning("model %s: hosted breaker half-open: one probe request", self.model)
        # A first attempt's token was taken when the frame was accepted; a retry takes its own.
        if not first and not self._rate.wait(self._retry_wait):
            self._undo_probe()
            raise HostedError("not sent: max_rate reached while retrying", sent=False)
        if self._budget is not None and not self._budget.take():
            self._undo_probe()
            self._limit_reached()
            raise HostedError("not sent: daily_limit reached", sent=False)
        with self._lock:
            self._sent += 1

    def _limit_reached(self) -> None:
        """One line per UTC day the limit is reached, however many frames it turns away."""
        assert self._budget is not None
        day = utc_day(time.time())
        with self._lock:
            if self._limit_day == day:
                return
            self._limit_day = day
        log.warning(
            "model %s: hosted daily_limit of %d requests reached; none until 00:00 UTC", self.model, self._budget.limit
        )

    def _undo_probe(self) -> None:
        with self._lock:
            if self._breaker.state == "half-open":
                self._breaker.state = "open"  # the probe was not sent; the next one is still due

    def record(self, status: int | None, sent_bytes: int) -> None:
        notice: ModelNotice | None = None
        with self._lock:
            self._bytes += sent_bytes
            self._last_bytes = sent_bytes
            before = self._breaker.state
            if status is not None and 200 <= status < 300:
                self._answered += 1
                self._breaker.success()
            else:
                key = str(status) if status is not None else "none"
                self._failed[key] = self._failed.get(key, 0) + 1
                if status not in _NOT_FAILURES:
                    self._breaker.failure()
                if status in _OFF and self._off is None:
                    self._off = f"HTTP {status}"
                    notice = ModelNotice(self.model, "hosted", "off", f"HTTP {status}: {_OFF[status]}", time.time())
            after, pause = self._breaker.state, self._breaker.pause
        if notice is not None:
            log.error(
                "model %s: hosted fallback off until the config is reloaded or the daemon restarts: %s from %s",
                self.model,
                notice.reason,
                self._where,
            )
            if self._notify is not None:
                self._notify(notice)
        if after != before:
            self._log_breaker(before, after, status, pause)

    def _log_breaker(self, before: str, after: str, status: int | None, pause: float) -> None:
        last = f"HTTP {status}" if status is not None else "no answer"
        if after == "open" and before == "half-open":
            log.warning("model %s: hosted probe failed (%s); breaker open for %.0f s", self.model, last, pause)
        elif after == "open":
            log.warning("model %s: hosted breaker open after failed requests (last: %s); no requests for %.0f s",
                        self.model, last, pause)  # fmt: skip
        elif after == "closed":
            log.info("model %s: hosted breaker closed: the API answered", self.model)

    def stats(self) -> HostedStats:
        left = self._budget.left() if self._budget is not None else None
        with self._lock:
            return HostedStats(
                sent=self._sent,
                answered=self._answered,
                failed=dict(self._failed),
                breaker=self._breaker.state,
                state="on" if self._off is None else f"off: {self._off}",
                left_today=left,
                upload_bytes_mean=self._bytes // max(1, self._sent),
                upload_bytes_last=self._last_bytes,
            )
