from __future__ import annotations

import numpy as np
import pytest

from edge.tracking.events import Event
from edge.tracking.zones import Zone, ZoneConfig

POLY = ((0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8))


def _feed(zone: Zone, frames: list[tuple[float, float | None]], tid: int = 1) -> list[Event]:
    """frames: (ts, anchor y or None for unseen); x is inside the polygon's span."""
    events: list[Event] = []
    for ts, y in frames:
        if y is None:
            events += zone.update(ts, [], np.zeros((0, 4)), [])
        else:
            events += zone.update(ts, [tid], np.array([[0.45, y - 0.1, 0.55, y]]), ["person"])
    return events


def test_entry_is_debounced() -> None:
    zone = Zone(ZoneConfig("porch", POLY, enter_s=0.5))
    short = _feed(zone, [(0.0, 0.5), (0.2, 0.5), (0.4, 0.9), (0.6, 0.9)])
    assert short == []
    events = _feed(zone, [(1.0, 0.5), (1.3, 0.5), (1.6, 0.5)])
    assert [(e.type, e.ts) for e in events] == [("zone.enter", 1.6)]
    assert zone.occupancy() == {"person": 1, "all": 1}


def test_exit_waits_for_the_grace_period_and_reports_dwell() -> None:
    zone = Zone(ZoneConfig("porch", POLY, enter_s=0.0, exit_grace_s=1.0))
    frames: list[tuple[float, float | None]] = [(0.0, 0.5), (2.0, 0.5), (2.5, 0.9), (2.9, 0.5), (3.0, 0.5)]
    events = _feed(zone, frames)
    assert [e.type for e in events] == ["zone.enter"]  # the brief step outside flipped nothing
    events = _feed(zone, [(3.5, 0.9), (4.0, None), (4.6, 0.9)])
    assert [(e.type, e.fields["dwell_s"]) for e in events] == [("zone.exit", pytest.approx(3.0))]
    assert zone.occupancy() == {"all": 0}


def test_loitering_fires_once() -> None:
    zone = Zone(ZoneConfig("porch", POLY, enter_s=0.0, loiter_s=5.0))
    events = _feed(zone, [(float(t), 0.5) for t in range(12)])
    assert [e.type for e in events] == ["zone.enter", "zone.loiter"]
    assert events[1].ts == 5.0


def test_ended_track_leaves_at_once() -> None:
    zone = Zone(ZoneConfig("porch", POLY, enter_s=0.0))
    _feed(zone, [(0.0, 0.5), (1.0, 0.5)])
    events = zone.end_tracks(1.2, [1])
    assert [(e.type, e.fields["dwell_s"]) for e in events] == [("zone.exit", 1.0)]


def test_zone_classes_filter() -> None:
    zone = Zone(ZoneConfig("drive", POLY, classes=frozenset({"car"}), enter_s=0.0))
    assert _feed(zone, [(0.0, 0.5)]) == []


def test_invalid_polygon_is_refused() -> None:
    with pytest.raises(ValueError, match="zone bad: a polygon needs at least 3"):
        ZoneConfig("bad", ((0.1, 0.1), (0.2, 0.2)))
