from __future__ import annotations

from edge.tracking.bench import time_per_update


def test_time_per_update_measures_a_positive_duration() -> None:
    seconds = time_per_update(20, frames=30)
    assert 0 < seconds < 1.0
