"""The frames waiting for one model, per stream, behind one condition.

A live stream's queue holds one frame and a new frame replaces it (counted as dropped); a
file stream's queue is small and ``put`` waits for room, so a file loses nothing. The model
worker takes frames round-robin across streams, at most one per stream per batch; requests
(the HTTP server's) only when no stream has a frame waiting, or to fill a batch's room.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.errors import EdgeError
from edge.pipeline.request import REQUEST_STREAM, InferenceRequest
from edge.sources import Frame

REQUEST_EVERY = 10  # cameras waiting: requests still get one turn in this many + 1 takes
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
        self._request_wait = 0  # takes in a row that cameras had frames waiting

    def add_stream(self, stream: str, live: bool, capacity: int = 2) -> None:
        if capacity < 1:
            raise EdgeError(f"an inbox needs room for at least one frame, got {capacity}")
        with self._cond:
            if stream in self._queues:
                raise EdgeError(f"stream {stream!r} already feeds this model")
            self._queues[stream] = _Queue(live, 1 if live else capacity)
            self._order.append(stream)

    def add_requests(self, capacity: int) -> None:
        """Take requests (:mod:`edge.pipeline.request`), at most ``capacity`` waiting. They get
        a turn in the round-robin like a stream, and fill what room a batch has left."""
        self.add_stream(REQUEST_STREAM, False, capacity)

    def submit(self, request: InferenceRequest) -> bool:
        """Queue a request without waiting; False when the queue is full or closed."""
        with self._cond:
            q = self._queues.get(REQUEST_STREAM)
            if q is None or self._closed or len(q.frames) >= q.capacity:
                return False
            q.frames.append(request)
            self._cond.notify_all()
            return True

    def withdraw(self, request: InferenceRequest) -> bool:
        """Take back a request that is still queued; False once a worker has taken it."""
        with self._cond:
            q = self._queues.get(REQUEST_STREAM)
            if q is None or request not in q.frames:
                return False
            q.frames.remove(request)
            return True

    def put(self, frame: Frame) -> bool:
        """Queue ``frame``; False once the inbox is closed (the frame is not queued)."""
        with self._cond:
            q = self._queues.get(frame.stream)
            if q is None:  # the stream was removed (a reload) while it delivered
                return False
            if q.live:
                if self._closed:
                    return False
                replaced = []
                while len(q.frames) >= q.capacity:
                    replaced.append(q.frames.popleft())
                q.frames.append(frame)
                self._cond.notify_all()
            else:

                def gone() -> bool:
                    return self._queues.get(frame.stream) is not q

                self._cond.wait_for(lambda: self._closed or gone() or len(q.frames) < q.capacity)
                if self._closed or gone():
                    return False
                q.frames.append(frame)
                self._cond.notify_all()
                return True
        hook = self._on_replace
        dropped = sum(1 for old in replaced if hook is None or not hook(old))
        if dropped:
            self._on_drop(frame.stream, dropped)
        return True

    def take(self, max_frames: int, cancelled: Callable[[], bool] | None = None) -> list[Frame]:
        """Wait for frames and take up to ``max_frames``, one per stream, round-robin.

        Returns an empty list only when the inbox is closed and empty, or ``cancelled()`` is
        true (checked at each :meth:`wake`): a worker being replaced leaves the frames for its
        successor.
        """
        stop = cancelled or (lambda: False)
        with self._cond:
            self._cond.wait_for(lambda: self._closed or stop() or any(q.frames for q in self._queues.values()))
            if stop():
                return []
            taken: list[Frame] = []
            # Cameras first: requests get a turn only when no stream has a frame waiting (or
            # every REQUEST_EVERY-th take, so cameras that alone saturate the model still leave
            # requests about 1/11 of it), and otherwise only the room a batch has left: a flood
            # of requests cannot slow a camera; they wait, then get 503 (tests/serve/test_load.py).
            cameras_waiting = any(q.frames for n, q in self._queues.items() if n != REQUEST_STREAM)
            self._request_wait = self._request_wait + 1 if cameras_waiting else 0
            if self._request_wait > REQUEST_EVERY:
                cameras_waiting, self._request_wait = False, 0
            for _ in range(len(self._order)):
                name = self._order[0]
                self._order.rotate(-1)
                if name == REQUEST_STREAM and cameras_waiting:
                    continue
                q = self._queues[name]
                if q.frames:
                    taken.append(q.frames.popleft())
                    if len(taken) >= max_frames:
                        break
            requests = self._queues.get(REQUEST_STREAM)
            while requests is not None and requests.frames and len(taken) < max_frames:
                taken.append(requests.frames.popleft())  # room left in the batch
            if taken:
                self._cond.notify_all()  # room for blocked file streams
            return taken

    def close(self, discard: bool = False) -> None:
        """Accept no more frames; with ``discard``, also drop the queued ones (counted)."""
        dropped: list[tuple[str, int]] = []
        refused: list[Frame] = []
        with self._cond:
            self._closed = True
            if discard:
                for name, q in self._queues.items():
                    if q.frames and name == REQUEST_STREAM:
                        refused = list(q.frames)
                    elif q.frames:
                        dropped.append((name, len(q.frames)))
                    q.frames.clear()
            self._cond.notify_all()
        for name, n in dropped:
            self._on_drop(name, n)
        for r in refused:  # requests are answered, not counted in stream stats
            if isinstance(r, InferenceRequest):
                r.refuse(EdgeError("the model stopped before it took the request"))

    def wake(self) -> None:
        """Make waiting takers check their ``cancelled`` again."""
        with self._cond:
            self._cond.notify_all()

    def remove_stream(self, stream: str) -> None:
        """Stop queueing for ``stream``; frames it still had queued are counted as dropped."""
        with self._cond:
            q = self._queues.pop(stream, None)
            if q is None:
                return
            self._order.remove(stream)
            n = len(q.frames)
            self._cond.notify_all()
        if n:
            self._on_drop(stream, n)

    def streams(self) -> list[str]:
        with self._cond:
            return list(self._order)

    def has_room(self, stream: str) -> bool:
        """A put for ``stream`` would not wait (or the inbox is closed)."""
        with self._cond:
            q = self._queues.get(stream)
            return q is None or self._closed or q.live or len(q.frames) < q.capacity

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
