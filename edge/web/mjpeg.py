"""MJPEG: one encoder per stream and picture variant, shared by all its viewers.

An encoder thread runs only while its variant has viewers: it draws and encodes each new
complete frame once (at most ``max_fps``, and fewer while the pace says inference needs the CPU:
edge/web/pace.py) and every viewer gets the same bytes. The number of viewers is bounded across
all streams. Encoder threads run at nice 19 (edge/web/priority.py) and count their CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.pipeline.latest import LatestFrame, LatestFrames
from edge.web.load import WebCpu
from edge.web.params import PictureParams
from edge.web.picture import render_jpeg
from edge.web.priority import nice_this_thread

MAX_VIEWERS = 8
MAX_FPS = 10.0
BOUNDARY = "edgeframe"
Render = Callable[[LatestFrame, PictureParams], bytes]
Rate = Callable[[], float]  # the most pictures a second an encoder may draw now


@dataclass(frozen=True)
class Encoded:
    frame: int
    jpeg: bytes


class _Encoder:
    def __init__(
        self,
        latest: LatestFrames,
        stream: str,
        params: PictureParams,
        rate: Rate,
        render: Render = render_jpeg,
        cpu: WebCpu | None = None,
    ) -> None:
        self._latest, self._stream, self._params, self._rate = latest, stream, params, rate
        self._render, self._cpu = render, cpu
        self.viewers = 0
        self.encoded = 0  # pictures encoded since start, for tests and stats
        self.current: Encoded | None = None
        self.changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"edge-mjpeg-{self._stream}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        nice_this_thread()
        cpu = self._cpu or WebCpu()
        cpu.sample()
        try:
            self._loop(cpu)
        finally:
            cpu.forget()

    def _loop(self, cpu: WebCpu) -> None:
        stop = threading.Event()
        while True:
            with self.changed:
                if self.viewers == 0:
                    return
            held = self._latest.get(self._stream)
            if held is not None and (self.current is None or held.frame != self.current.frame):
                jpeg = self._render(held, self._params)
                cpu.sample()
                with self.changed:
                    self.encoded += 1
                    self.current = Encoded(held.frame, jpeg)
                    self.changed.notify_all()
            stop.wait(1.0 / max(1e-3, self._rate()))  # read each time: the pace changes with the load

    def next(self, after: int, timeout: float) -> Encoded | None:
        """The first picture of a frame other than ``after``, or None after ``timeout``."""
        with self.changed:
            self.changed.wait_for(lambda: self.current is not None and self.current.frame != after, timeout)
            return self.current if self.current is not None and self.current.frame != after else None


class MjpegHub:
    def __init__(
        self,
        latest: LatestFrames,
        max_viewers: int = MAX_VIEWERS,
        max_fps: float = MAX_FPS,
        render: Render = render_jpeg,  # the server passes its JpegCache's, so latest.jpg shares the encodes
        rate: Rate | None = None,  # the pace's MJPEG rate (edge/web/load.py); capped at max_fps
        cpu: WebCpu | None = None,
    ) -> None:
        self._latest, self._max, self._render, self._cpu = latest, max_viewers, render, cpu
        self._rate: Rate = (lambda: min(max_fps, rate())) if rate is not None else (lambda: max_fps)
        self._lock = threading.Lock()
        self._encoders: dict[tuple[str, PictureParams], _Encoder] = {}

    @property
    def viewers(self) -> int:
        with self._lock:
            return sum(e.viewers for e in self._encoders.values())

    @property
    def encoders(self) -> int:
        with self._lock:
            return len(self._encoders)

    def join(self, stream: str, params: PictureParams) -> _Encoder | None:
        """The variant's encoder with one more viewer (started if new), or None when full."""
        key = (stream, params)
        with self._lock:
            if sum(e.viewers for e in self._encoders.values()) >= self._max:
                return None
            encoder = self._encoders.get(key)
            fresh = encoder is None
            if encoder is None:
                encoder = self._encoders[key] = _Encoder(
                    self._latest, stream, params, self._rate, self._render, self._cpu
                )
            with encoder.changed:
                encoder.viewers += 1
        if fresh:
            encoder.start()
        return encoder

    def leave(self, stream: str, params: PictureParams, encoder: _Encoder) -> None:
        with self._lock:
            with encoder.changed:
                encoder.viewers -= 1
                if encoder.viewers == 0 and self._encoders.get((stream, params)) is encoder:
                    del self._encoders[(stream, params)]  # its thread sees no viewer and ends
