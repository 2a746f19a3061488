"""Retained counter values: zone occupancy and line totals, keyed by their topic tail.

Keys are `zones/<zone>/<class>` (an int, `all` too) and `lines/<line>/<class>` (`{"in": N,
"out": M}`). `Published` remembers what went out last, so each frame publishes only what changed;
a value of None means the counter no longer exists (its retained message should be cleared).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from edge.tracking.lines import Line
from edge.tracking.zones import Zone


def zone_values(name: str, zone: Zone, classes: Iterable[str]) -> dict[str, object]:
    occupancy = zone.occupancy()
    wanted = set(classes) | set(occupancy)
    values: dict[str, object] = {f"zones/{name}/{c}": occupancy.get(c, 0) for c in sorted(wanted - {"all"})}
    values[f"zones/{name}/all"] = occupancy["all"]
    return values


def line_values(name: str, line: Line, classes: Iterable[str]) -> dict[str, object]:
    totals = line.totals()
    wanted = sorted(set(classes) | set(totals))
    return {f"lines/{name}/{c}": dict(totals.get(c, {"in": 0, "out": 0})) for c in wanted}


@dataclass
class Published:
    last: dict[str, object] = field(default_factory=dict)

    def changes(self, now: Mapping[str, object]) -> dict[str, object]:
        """What differs from the last call (None for keys gone), and remember `now`."""
        changed: dict[str, object] = {k: v for k, v in now.items() if self.last.get(k) != v}
        changed.update({k: None for k in self.last if k not in now})
        self.last = dict(now)
        return changed
