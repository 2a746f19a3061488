"""Line counters: direction by the side of the line, crossings tested on the anchor's path.

"in" is moving to the right-hand side of the line as drawn from its first point to its second, on
the image (y down): a horizontal line drawn left to right counts objects moving down as in. A
track counts when its anchor goes from strictly one side (beyond a small hysteresis band) to
strictly the other and the path between those two observations meets the drawn segment, so a
skipped frame cannot hide a crossing and jitter on the line never counts. Each track counts at
most once per direction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from edge.tracking.events import Event
from edge.tracking.geometry import Anchor, FloatArray, anchor_points, segments_cross, signed_distance


@dataclass(frozen=True)
class LineConfig:
    name: str
    points: tuple[tuple[float, float], tuple[float, float]]
    classes: frozenset[str] | None = None
    anchor: Anchor = "bottom_center"
    band: float = 0.01  # hysteresis half-width, fraction of the frame

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.shape != (2, 2) or np.any(pts < 0) or np.any(pts > 1):
            raise ValueError(f"line {self.name}: needs two [x, y] points within 0-1")
        if np.allclose(pts[0], pts[1]):
            raise ValueError(f"line {self.name}: its two points must differ")
        if self.band < 0:
            raise ValueError(f"line {self.name}: band must be >= 0")


@dataclass
class Line:
    config: LineConfig
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # class -> {"in": n, "out": m}
    # tracker_id -> (side, anchor) at its last strictly-sided observation
    _last: dict[int, tuple[int, tuple[float, float]]] = field(default_factory=dict)
    _counted: set[tuple[int, str]] = field(default_factory=set)

    def update(
        self,
        ts: float,
        tracker_ids: Sequence[int],
        boxes: FloatArray,
        class_names: Sequence[str],
        source: str = "local",
    ) -> list[Event]:
        """One frame of confirmed tracks (tracker_id >= 0; unconfirmed ones never count)."""
        a, b = (np.asarray(p, dtype=np.float64) for p in self.config.points)
        points = anchor_points(boxes, self.config.anchor)
        dist = signed_distance(points, a, b)
        side = np.where(dist > self.config.band, 1, np.where(dist < -self.config.band, -1, 0))
        classes = self.config.classes
        counted = [tid >= 0 and (classes is None or cls in classes) for tid, cls in zip(tracker_ids, class_names)]
        last = [self._last.get(t) for t in tracker_ids]  # one dict pass per frame
        prev_side = np.fromiter((p[0] if p else 0 for p in last), dtype=np.int64, count=len(last))
        prev = np.array([p[1] if p else (0.0, 0.0) for p in last], dtype=np.float64).reshape(-1, 2)
        flipped = (side != 0) & (prev_side != 0) & (side != prev_side) & np.array(counted, dtype=bool)
        crossed = flipped & segments_cross(prev, points, a, b)
        events: list[Event] = []
        for i in np.nonzero(crossed)[0].tolist():  # a few per frame at most
            direction = "in" if side[i] > 0 else "out"
            events += self._count(tracker_ids[i], class_names[i], direction, ts, source)
        # Remember each counted track's latest strictly-sided anchor, in one bulk update.
        sided = (side != 0) & np.array(counted, dtype=bool)
        keep = np.nonzero(sided)[0].tolist()
        sides, pts = side.tolist(), points.tolist()
        self._last.update((tracker_ids[i], (sides[i], (pts[i][0], pts[i][1]))) for i in keep)
        return events

    def prime(self, tracker_id: int, box: FloatArray) -> None:
        """A newly confirmed track's first box (normalized xyxy, shape (1, 4)): its side before
        confirmation, so a line crossed while the track was still tentative counts too."""
        a, b = (np.asarray(p, dtype=np.float64) for p in self.config.points)
        point = anchor_points(box, self.config.anchor)
        dist = float(signed_distance(point, a, b)[0])
        if abs(dist) > self.config.band and tracker_id not in self._last:
            self._last[tracker_id] = (1 if dist > 0 else -1, (float(point[0, 0]), float(point[0, 1])))

    def end_tracks(self, tracker_ids: Iterable[int]) -> None:
        for tid in tracker_ids:
            self._last.pop(tid, None)
            self._counted.discard((tid, "in"))
            self._counted.discard((tid, "out"))

    def totals(self) -> dict[str, dict[str, int]]:
        return {cls: {"in": c["in"], "out": c["out"]} for cls, c in self.counts.items()}

    def _count(self, tid: int, cls: str, direction: str, ts: float, source: str) -> list[Event]:
        if (tid, direction) in self._counted:
            return []
        self._counted.add((tid, direction))
        self.counts.setdefault(cls, Counter())[direction] += 1
        fields = {"line": self.config.name, "direction": direction}
        return [Event("line.cross", ts, tid, cls, source, MappingProxyType(fields))]
