"""A source's lifecycle as an explicit state machine, and the reconnect backoff."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum

from edge.errors import EdgeError


class SourceState(str, Enum):
    STARTING = "starting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    ENDED = "ended"  # the file ended, or the daemon stopped the stream
    FAILED = "failed"  # gave up: missing file, unusable URI, retries exhausted

    @property
    def terminal(self) -> bool:
        return self in (SourceState.ENDED, SourceState.FAILED)


_ALLOWED: dict[SourceState, frozenset[SourceState]] = {
    SourceState.STARTING: frozenset(
        {SourceState.RUNNING, SourceState.RECONNECTING, SourceState.ENDED, SourceState.FAILED}
    ),
    SourceState.RUNNING: frozenset({SourceState.RECONNECTING, SourceState.ENDED, SourceState.FAILED}),
    SourceState.RECONNECTING: frozenset({SourceState.RUNNING, SourceState.ENDED, SourceState.FAILED}),
    SourceState.ENDED: frozenset(),
    SourceState.FAILED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A transition the state machine does not allow: a bug in the caller, not a user error."""


@dataclass(frozen=True)
class Transition:
    at: float  # time.monotonic()
    old: SourceState
    new: SourceState
    reason: str


class StateMachine:
    """The current state behind one lock, a bounded history, and waiting for a state."""

    def __init__(self, history: int = 64) -> None:
        self._cond = threading.Condition()
        self._state = SourceState.STARTING
        self._history: deque[Transition] = deque(maxlen=history)

    @property
    def state(self) -> SourceState:
        with self._cond:
            return self._state

    def history(self) -> list[Transition]:
        with self._cond:
            return list(self._history)

    def to(self, new: SourceState, reason: str = "") -> Transition | None:
        """Move to ``new``; None when already there (a repeated drop is not a new transition)."""
        with self._cond:
            old = self._state
            if new is old:
                return None
            if new not in _ALLOWED[old]:
                raise IllegalTransition(f"source state {old.value} -> {new.value} is not allowed")
            self._state = new
            t = Transition(time.monotonic(), old, new, reason)
            self._history.append(t)
            self._cond.notify_all()
            return t

    def wait_for(self, *states: SourceState, timeout: float | None = None) -> bool:
        """Block until the state is one of ``states`` (or terminal); True when it is one of them."""
        with self._cond:
            self._cond.wait_for(lambda: self._state in states or self._state.terminal, timeout)
            return self._state in states


class Backoff:
    """Capped exponential delays between reconnect attempts, reset after a good read."""

    def __init__(self, initial: float = 0.5, maximum: float = 2.0, factor: float = 2.0) -> None:
        if initial <= 0 or maximum < initial or factor < 1:
            raise EdgeError(f"backoff needs 0 < initial <= maximum and factor >= 1, got {initial}, {maximum}, {factor}")
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self._next = initial
        self.attempts = 0

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self._next = self.initial
        self.attempts = 0
