"""Pictures cached per (frame, variant): many pollers of ``latest.jpg`` cost one encode per frame.

A page polls each tile a few times a second, and several pages or a Home Assistant camera may
poll the same stream: without this, each request draws and encodes the frame again. Requests
for a picture that is being encoded wait for that encode rather than starting their own.
:meth:`JpegCache.recent` bounds the rate too: pollers of the newest picture of a variant get
the last one encoded while it is younger than :data:`MIN_PERIOD`, so however many poll out of
step, a stream's variant is encoded at most 1 / MIN_PERIOD times a second.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from edge.pipeline.latest import LatestFrame
from edge.web.params import PictureParams
from edge.web.picture import render_jpeg

Render = Callable[[LatestFrame, PictureParams], bytes]
# stream, frame, capture time (a stream added again restarts its numbers), models answered, variant
Key = tuple[str, int, float, tuple[str, ...], PictureParams]
SIZE = 32
MIN_PERIOD = 0.2  # seconds: latest.jpg pollers cost at most 5 encodes a second per stream and variant


class JpegCache:
    def __init__(self, render: Render = render_jpeg, size: int = SIZE, min_period: float = MIN_PERIOD) -> None:
        self._render, self._size, self._min_period = render, size, min_period
        self._lock = threading.Lock()
        self._done: OrderedDict[Key, bytes] = OrderedDict()
        self._pending: dict[Key, threading.Event] = {}
        # The newest picture encoded per (stream, variant), with its frame and when it was encoded.
        self._last: dict[tuple[str, PictureParams], tuple[LatestFrame, bytes, float]] = {}
        self.encoded = 0  # pictures encoded, for tests and the bench

    def recent(
        self, stream: str, params: PictureParams, within: float | None = None
    ) -> tuple[LatestFrame, bytes] | None:
        """The variant's newest picture if it was encoded less than ``within`` seconds ago
        (``min_period`` by default), else None."""
        with self._lock:
            last = self._last.get((stream, replace(params, frame=None)))
        if last is None or time.monotonic() - last[2] >= (self._min_period if within is None else within):
            return None
        return last[0], last[1]

    def get(self, held: LatestFrame, params: PictureParams) -> bytes:
        key = (held.stream, held.frame, held.timestamp, tuple(sorted(held.results)), replace(params, frame=None))
        while True:
            with self._lock:
                jpeg = self._done.get(key)
                if jpeg is not None:
                    self._done.move_to_end(key)
                    return jpeg
                event = self._pending.get(key)
                owner = event is None
                if event is None:
                    event = self._pending[key] = threading.Event()
            if owner:
                return self._encode(key, held, params, event)
            event.wait()  # then read the result, or encode it ourselves if that encode failed

    def _encode(self, key: Key, held: LatestFrame, params: PictureParams, event: threading.Event) -> bytes:
        try:
            jpeg = self._render(held, params)
            with self._lock:
                self.encoded += 1
                self._done[key] = jpeg
                variant = (held.stream, key[4])
                last = self._last.get(variant)
                if last is None or (held.timestamp, held.frame) >= (last[0].timestamp, last[0].frame):
                    self._last[variant] = (held, jpeg, time.monotonic())
                while len(self._done) > self._size:
                    self._done.popitem(last=False)
            return jpeg
        finally:
            with self._lock:
                self._pending.pop(key, None)
            event.set()
