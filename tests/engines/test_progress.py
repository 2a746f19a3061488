from __future__ import annotations

import io

import pytest

from edge.engines.progress import ProgressSnapshot, ProgressTracker, TextProgressBar


def test_nested_phases_give_an_overall_fraction() -> None:
    t = ProgressTracker()
    assert t.snapshot().fraction is None and t.snapshot().text == "starting"
    t.phase_start("Building engine", None, 4)
    t.step("Building engine", 0)  # 1 of 4 done
    t.phase_start("Tactic timing", "Building engine", 10)
    for i in range(5):
        t.step("Tactic timing", i)
    snap = t.snapshot()
    assert snap.fraction == pytest.approx((1 + 0.5) / 4)
    assert snap.text == "Building engine > Tactic timing (5/10)"
    t.phase_finish("Tactic timing")
    t.step("Building engine", 1)
    assert t.snapshot().fraction == pytest.approx(2 / 4) and t.snapshot().text == "Building engine (2/4)"


def test_finishing_a_phase_ends_its_children() -> None:
    t = ProgressTracker()
    t.phase_start("A", None, 2)
    t.phase_start("B", "A", 2)
    t.phase_finish("A")
    assert t.snapshot().phases == ()


def test_cancel_makes_the_next_step_say_stop() -> None:
    t = ProgressTracker()
    t.phase_start("A", None, 3)
    assert t.step("A", 0) is True
    t.cancel()
    assert t.step("A", 1) is False and t.cancelled


def test_a_failing_listener_does_not_break_the_build() -> None:
    def boom(_: ProgressSnapshot) -> None:
        raise RuntimeError("display gone")

    t = ProgressTracker(boom)
    t.phase_start("A", None, 1)
    assert t.step("A", 0) is True


def test_bar_rendering() -> None:
    t = ProgressTracker()
    t.phase_start("Building engine", None, 4)
    t.step("Building engine", 1)
    line = TextProgressBar.render(t.snapshot(), width=10)
    assert line.startswith("[#####-----]  50.0%") and line.endswith("Building engine (2/4)")


def test_bar_off_a_terminal_prints_a_line_per_phase() -> None:
    out = io.StringIO()
    bar = TextProgressBar(out)
    t = ProgressTracker(bar)
    t.phase_start("A", None, 100)
    for i in range(100):
        t.step("A", i)
    t.phase_start("B", "A", 2)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].endswith("A (0/100)") and "A > B" in lines[1]
