"""The frames waiting for one model, per stream, behind one condition.

A live stream's queue holds one frame and a new frame replaces it (counted as dropped); a
file stream's queue is small and ``put`` waits for room, so a file loses nothing. The model
worker takes frames round-robin across streams, at most one per stream per batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.errors import EdgeError
from edge.sources import Frame

DropHook = Callable[[str, int], None]  # (stream, frames dropped)
ReplaceHook = Callable[[Frame], bool]  # a frame a newer one replaced: True if taken elsewhere


@dataclass
class _Queue:
    live: bool
    capacity: int
    frames: deque[Frame] = field(default_factory=deque)


class Inbox:
    def __init__(self, on_drop: DropHook, on_replace: ReplaceHook | None = None) -> None:
        self._cond = threading.Condition()
        self._queues: dict[str, _Queue] = {}
        self._order: deque[str] = deque()
        self._closed = False
        self._on_drop = on_drop
        self._on_replace = on_replace

    def add_stream(self, stream: str, live: bool, capacity: int = 2) -> None:
        if capacity < 1:
            raise EdgeError(f"an inbox needs room for at least one frame, got {capacity}")
        with self._cond:
            if stream in self._queues:
                raise EdgeError(f"stream {stream!r} already feeds this model")
            self._queues[stream] = _Queue(live, 1 if live else capacity)
            self._order.append(stream)

    def put(self, frame: Frame) -> bool:
        """Queue ``frame``; False once the inbox is closed (the frame is not queued)."""
        with self._cond:
            q = self._queues[frame.stream]
            if q.live:
                if self._closed:
                    return False
                replaced = []
                while len(q.frames) >= q.capacity:
                    replaced.append(q.frames.popleft())
                q.frames.append(frame)
                self._cond.notify_all()
            else:
                self._cond.wait_for(lambda: self._closed or len(q.frames) < q.capacity)
                if self._closed:
                    return False
                q.frames.append(frame)
                self._cond.notify_all()
                return True
        hook = self._on_replace
        dropped = sum(1 for old in replaced if hook is None or not hook(old))
        if dropped:
            self._on_drop(frame.stream, dropped)
        return True

    def take(self, max_frames: int) -> list[Frame]:
        """Wait for frames and take up to ``max_frames``, one per stream, round-robin.

        Returns an empty list only when the inbox is closed and empty.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._closed or any(q.frames for q in self._queues.values()))
            taken: list[Frame] = []
            for _ in range(len(self._order)):
                name = self._order[0]
                self._order.rotate(-1)
                q = self._queues[name]
                if q.frames:
                    taken.append(q.frames.popleft())
                    if len(taken) >= max_frames:
                        break
            if taken:
                self._cond.notify_all()  # room for blocked file streams
            return taken

    def close(self, discard: bool = False) -> None:
        """Accept no more frames; with ``discard``, also drop the queued ones (counted)."""
        dropped: list[tuple[str, int]] = []
        with self._cond:
            self._closed = True
            if discard:
                for name, q in self._queues.items():
                    if q.frames:
                        dropped.append((name, len(q.frames)))
                        q.frames.clear()
            self._cond.notify_all()
        for name, n in dropped:
            self._on_drop(name, n)

    def has_room(self, stream: str) -> bool:
        """A put for ``stream`` would not wait (or the inbox is closed)."""
        with self._cond:
            q = self._queues[stream]
            return self._closed or q.live or len(q.frames) < q.capacity

    def depth(self, stream: str) -> int:
        with self._cond:
            q = self._queues.get(stream)
            return len(q.frames) if q else 0

    def total(self) -> int:
        """Frames queued across every stream."""
        with self._cond:
            return sum(len(q.frames) for q in self._queues.values())

    def empty(self) -> bool:
        with self._cond:
            return not any(q.frames for q in self._queues.values())
