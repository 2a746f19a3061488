from __future__ import annotations

import threading

import pytest

from edge.errors import EdgeError
from edge.sources import Backoff, IllegalTransition, SourceState, StateMachine

S = SourceState


@pytest.mark.parametrize(
    "path",
    [
        [S.RUNNING, S.ENDED],
        [S.RUNNING, S.RECONNECTING, S.RUNNING, S.RECONNECTING, S.FAILED],
        [S.RECONNECTING, S.RUNNING, S.ENDED],
        [S.FAILED],
        [S.ENDED],
    ],
)
def test_allowed_paths(path: list[SourceState]) -> None:
    m = StateMachine()
    for state in path:
        assert m.to(state, "test") is not None
    assert m.state is path[-1]
    assert [t.new for t in m.history()] == path


@pytest.mark.parametrize(
    ("path", "bad"),
    [([S.RUNNING, S.ENDED], S.RUNNING), ([S.FAILED], S.RECONNECTING), ([S.ENDED], S.FAILED)],
)
def test_terminal_states_stay(path: list[SourceState], bad: SourceState) -> None:
    m = StateMachine()
    for state in path:
        m.to(state)
    with pytest.raises(IllegalTransition):
        m.to(bad)
    assert m.state is path[-1]


def test_repeating_the_current_state_is_no_transition() -> None:
    m = StateMachine()
    m.to(S.RECONNECTING)
    assert m.to(S.RECONNECTING) is None
    assert len(m.history()) == 1


def test_running_cannot_go_back_to_starting() -> None:
    m = StateMachine()
    m.to(S.RUNNING)
    with pytest.raises(IllegalTransition, match="running -> starting"):
        m.to(S.STARTING)


def test_wait_for_wakes_on_transition_and_on_terminal() -> None:
    m = StateMachine()
    threading.Timer(0.05, m.to, args=(S.RUNNING,)).start()
    assert m.wait_for(S.RUNNING, timeout=5)
    threading.Timer(0.05, m.to, args=(S.FAILED,)).start()
    assert not m.wait_for(S.RECONNECTING, timeout=5)  # woke on the terminal state, not the timeout
    assert m.state is S.FAILED


def test_backoff_doubles_to_cap_and_resets() -> None:
    b = Backoff(0.5, 4.0)
    assert [b.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert b.attempts == 6
    b.reset()
    assert (b.next_delay(), b.attempts) == (0.5, 1)


@pytest.mark.parametrize(("initial", "maximum", "factor"), [(0, 1, 2), (2, 1, 2), (0.5, 4, 0.5)])
def test_backoff_rejects_nonsense(initial: float, maximum: float, factor: float) -> None:
    with pytest.raises(EdgeError):
        Backoff(initial, maximum, factor)
