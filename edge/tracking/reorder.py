"""Capture-order release of results that arrive out of order (hosted answers come late).

A result waits until every earlier frame number has been released or it has waited `window_s`
of wall-clock time; once any held result has waited that long, it and everything before it go,
in frame order. A frame at or before the last one released arrives too late to be tracked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class ReorderBuffer(Generic[T]):
    window_s: float
    last_released: int | None = None  # frame number; None: nothing released yet
    _held: dict[int, tuple[float, T]] = field(default_factory=dict)  # frame -> (arrived, item)

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, frame: object) -> bool:
        """Whether that frame number is held now."""
        return frame in self._held

    def push(self, frame: int, item: T, now: float) -> bool:
        """Holds `item`; False (not held) when its frame is already released or held."""
        if (self.last_released is not None and frame <= self.last_released) or frame in self._held:
            return False
        self._held[frame] = (now, item)
        return True

    def pop_ready(self, now: float) -> list[T]:
        """What may go now, in frame order."""
        if not self._held:
            return []
        # Held items are few (reorder window x fps), so sorting per call is cheap.
        frames = sorted(self._held)
        timed = [f for f in frames if now - self._held[f][0] >= self.window_s]
        cut = max(timed) if timed else -1
        out: list[T] = []
        for f in frames:
            expected = 0 if self.last_released is None else self.last_released + 1
            if f != expected and f > cut:
                break
            out.append(self._held.pop(f)[1])
            self.last_released = f
        return out

    def restart(self) -> list[T]:
        """Forgets the numbering (a reconnected stream may count from 0 again); returns what was held."""
        out = [self._held[f][1] for f in sorted(self._held)]
        self._held.clear()
        self.last_released = None
        return out
