"""Pictures cached per (frame, variant): many pollers of ``latest.jpg`` cost one encode per frame.

A page polls each tile a few times a second, and several pages or a Home Assistant camera may
poll the same stream: without this, each request draws and encodes the frame again. Requests
for a picture that is being encoded wait for that encode rather than starting their own.
"""

from __future__ import annotations

import threading
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


class JpegCache:
    def __init__(self, render: Render = render_jpeg, size: int = SIZE) -> None:
        self._render, self._size = render, size
        self._lock = threading.Lock()
        self._done: OrderedDict[Key, bytes] = OrderedDict()
        self._pending: dict[Key, threading.Event] = {}
        self.encoded = 0  # pictures encoded, for tests and the bench

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
                while len(self._done) > self._size:
                    self._done.popitem(last=False)
            return jpeg
        finally:
            with self._lock:
                self._pending.pop(key, None)
            event.set()
