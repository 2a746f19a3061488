"""Zones: debounced entry, exit after a grace period, dwell per visit, loitering and occupancy.

Time is capture seconds. A track enters once its anchor has been inside for `enter_s` and leaves
once it has been outside (or unseen) for `exit_grace_s`: a box wobbling on the border flips
nothing. Dwell runs from the first inside observation to the last one of the visit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from edge.tracking.events import Event
from edge.tracking.geometry import Anchor, FloatArray, anchor_points, points_in_polygon, polygon_problem


@dataclass(frozen=True)
class ZoneConfig:
    name: str
    polygon: tuple[tuple[float, float], ...]
    classes: frozenset[str] | None = None  # None: every class
    anchor: Anchor = "bottom_center"
    enter_s: float = 0.5
    exit_grace_s: float = 1.0
    loiter_s: float | None = None

    def __post_init__(self) -> None:
        problem = polygon_problem(np.asarray(self.polygon, dtype=np.float64))
        if problem:
            raise ValueError(f"zone {self.name}: {problem}")
        if self.enter_s < 0 or self.exit_grace_s < 0 or (self.loiter_s is not None and self.loiter_s <= 0):
            raise ValueError(f"zone {self.name}: enter_s and exit_grace_s must be >= 0, loiter_s > 0")


@dataclass
class _Visit:
    class_name: str
    pending_since: float | None = None  # first inside observation while not yet entered
    entered_at: float | None = None
    last_inside: float = 0.0
    outside_since: float | None = None
    loitered: bool = False


@dataclass
class Zone:
    config: ZoneConfig
    _visits: dict[int, _Visit] = field(default_factory=dict)
    _polygon: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self._polygon = np.asarray(self.config.polygon, dtype=np.float64)

    def occupancy(self) -> dict[str, int]:
        """Tracks inside now, per class and "all"."""
        counts = Counter(v.class_name for v in self._visits.values() if v.entered_at is not None)
        return {**counts, "all": sum(counts.values())}

    def update(
        self,
        ts: float,
        tracker_ids: Sequence[int],
        boxes: FloatArray,
        class_names: Sequence[str],
        source: str = "local",
    ) -> list[Event]:
        """One frame: confirmed tracks (tracker_id >= 0) with their normalized xyxy boxes."""
        inside = points_in_polygon(anchor_points(boxes, self.config.anchor), self._polygon)
        events: list[Event] = []
        seen: set[int] = set()
        for tid, cls, is_in in zip(tracker_ids, class_names, inside.tolist()):
            if tid < 0 or (self.config.classes is not None and cls not in self.config.classes):
                continue
            if not is_in and tid not in self._visits:
                continue  # outside and nothing pending: the common case, no bookkeeping
            seen.add(tid)
            visit = self._visits.setdefault(tid, _Visit(cls))
            events += self._step(visit, tid, ts, is_in, source)
        # Tracks not seen this frame count as outside: a grace period, not an instant exit.
        for tid in [t for t in self._visits if t not in seen]:
            events += self._step(self._visits[tid], tid, ts, False, source)
        return events

    def end_tracks(self, ts: float, tracker_ids: Iterable[int], source: str = "local") -> list[Event]:
        """Ended tracks leave at once (their visit's dwell stops at the last inside observation)."""
        events = []
        for tid in tracker_ids:
            visit = self._visits.pop(tid, None)
            if visit is not None and visit.entered_at is not None:
                events.append(self._event("zone.exit", visit, tid, ts, source, dwell=True))
        return events

    def _step(self, visit: _Visit, tid: int, ts: float, is_in: bool, source: str) -> list[Event]:
        cfg = self.config
        if visit.entered_at is None:
            if not is_in:
                del self._visits[tid]  # nothing pending: forget it
                return []
            visit.pending_since = ts if visit.pending_since is None else visit.pending_since
            visit.last_inside = ts
            if ts - visit.pending_since < cfg.enter_s:
                return []
            visit.entered_at = visit.pending_since
            return [self._event("zone.enter", visit, tid, ts, source)]
        if is_in:
            visit.last_inside, visit.outside_since = ts, None
            if cfg.loiter_s is not None and not visit.loitered and ts - visit.entered_at >= cfg.loiter_s:
                visit.loitered = True
                return [self._event("zone.loiter", visit, tid, ts, source, dwell=True)]
            return []
        visit.outside_since = ts if visit.outside_since is None else visit.outside_since
        if ts - visit.outside_since < cfg.exit_grace_s:
            return []
        del self._visits[tid]
        return [self._event("zone.exit", visit, tid, ts, source, dwell=True)]

    def _event(self, kind: str, visit: _Visit, tid: int, ts: float, source: str, dwell: bool = False) -> Event:
        fields: dict[str, object] = {"zone": self.config.name}
        if dwell and visit.entered_at is not None:
            fields["dwell_s"] = round(visit.last_inside - visit.entered_at, 3)
        return Event(kind, ts, tid, visit.class_name, source, MappingProxyType(fields))
