"""A stream's capture thread: open, read, pace, reconnect, count.

Frames go to a ``deliver`` callback owned by the pipeline: for a live source it never blocks
(the pipeline keeps the newest frame), for a file it blocks while the pipeline is busy, so a
file is read whole. ``deliver`` returns False when the pipeline is shutting down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.sources.capture import Capture, CaptureOptions, open_capture
from edge.sources.state import Backoff, SourceState, StateMachine
from edge.sources.uri import SourceError, SourceKind, SourceUri

log = logging.getLogger("edge.sources")

_FALLBACK_FPS = 30.0


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``seq`` counts frames read from the stream (gap-free for files);
    ``timestamp`` is wall time at capture, ``captured`` the ``perf_counter`` of the same
    moment and ``capture_s`` how long reading and decoding it took."""

    stream: str
    seq: int
    timestamp: float
    image: npt.NDArray[np.uint8]
    captured: float
    capture_s: float

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise EdgeError(f"frame seq must be >= 0, got {self.seq}")
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise EdgeError(f"a frame must be BGR uint8 (H, W, 3), got {self.image.dtype} {self.image.shape}")


FrameSink = Callable[[Frame], bool]
Opener = Callable[[SourceUri, CaptureOptions], Capture]


@dataclass(frozen=True)
class SourceSettings:
    """How to read one stream. ``live`` None: from the URI (files are not live, the rest are);
    ``realtime`` paces a file to its fps; ``max_retries`` None retries a live source forever."""

    name: str
    uri: SourceUri
    live: bool | None = None
    realtime: bool = True
    loop: bool = False
    fps: float | None = None
    reconnect_initial: float = 0.5
    reconnect_max: float = 2.0
    max_retries: int | None = None
    capture: CaptureOptions = field(default_factory=CaptureOptions)

    def __post_init__(self) -> None:
        if not self.name:
            raise EdgeError("a stream needs a name")
        if self.fps is not None and self.fps <= 0:
            raise EdgeError(f"stream {self.name}: fps must be positive, got {self.fps}")
        if self.max_retries is not None and self.max_retries < 0:
            raise EdgeError(f"stream {self.name}: max_retries must be >= 0, got {self.max_retries}")
        Backoff(self.reconnect_initial, self.reconnect_max)  # validates

    @property
    def is_live(self) -> bool:
        return self.uri.kind.live if self.live is None else self.live

    @property
    def is_file(self) -> bool:
        return self.uri.kind is SourceKind.FILE


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    frames_read: int
    reconnects: int
    gap_seconds: float
    gap_frames: int
    fps: float | None
    width: int | None
    height: int | None
    backend: str | None
    error: str | None


class Source:
    """Reads one stream on its own thread until the stream ends, fails or is stopped."""

    def __init__(self, settings: SourceSettings, deliver: FrameSink, opener: Opener = open_capture) -> None:
        self.settings = settings
        self.machine = StateMachine()
        self._deliver = deliver
        self._opener = opener
        self._stop = threading.Event()
        self._backoff = Backoff(settings.reconnect_initial, settings.reconnect_max)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._frames = 0
        self._reconnects = 0
        self._gap_s = 0.0
        self._gap_frames = 0
        self._fps: float | None = settings.fps
        self._measured_fps: float | None = None
        self._size: tuple[int, int] | None = None
        self._backend: str | None = None
        self._error: str | None = None
        self._last_good: float | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def state(self) -> SourceState:
        return self.machine.state

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"stream {self.name} already started")
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def status(self) -> SourceStatus:
        with self._lock:
            # A camera's declared rate is often a default (FFmpeg says 25 for MJPEG): measure it.
            live_rate = self._measured_fps if self.settings.is_live and self.settings.fps is None else None
            fps = live_rate or self._fps or self._measured_fps
            w, h = self._size or (None, None)
            return SourceStatus(
                self.machine.state,
                self._frames,
                self._reconnects,
                self._gap_s,
                self._gap_frames,
                fps,
                w,
                h,
                self._backend,
                self._error,
            )

    # -- the capture thread ------------------------------------------------------------

    def _run(self) -> None:
        cap: Capture | None = None
        try:
            cap = self._connect()
            while cap is not None and not self._stop.is_set():
                cap = self._pump(cap)
        except Exception as exc:  # a bug or an OpenCV surprise must not pass silently or kill others
            log.exception("stream %s: capture stopped by an unexpected error", self.name)
            self._fail(f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            if cap is not None:
                cap.release()
            if not self.machine.state.terminal:
                self.machine.to(SourceState.ENDED, "stopped")

    def _pump(self, cap: Capture) -> Capture | None:
        """Read and deliver frames until the capture ends or drops; returns the next capture."""
        s = self.settings
        period = 1.0 / (self._fps or _FALLBACK_FPS)
        pace = s.is_file and (s.realtime or s.is_live)
        due = time.perf_counter()
        while not self._stop.is_set():
            if pace:
                due = self._wait_until(due) + period
            t0 = time.perf_counter()
            image = cap.read()
            t1 = time.perf_counter()
            if image is None:
                cap.release()
                return self._after_end()
            self._on_frame(image, t1)
            frame = Frame(self.name, self._frames - 1, time.time(), image, t1, t1 - t0)
            if not self._deliver(frame):
                self._stop.set()
        return cap

    def _wait_until(self, due: float) -> float:
        now = time.perf_counter()
        if due > now:
            self._stop.wait(due - now)
            return due
        return now  # behind schedule (a slow pipeline): carry on at fps from here, never burst

    def _on_frame(self, image: npt.NDArray[np.uint8], now: float) -> None:
        with self._lock:
            if self._last_good is not None:
                interval = now - self._last_good
                if self.machine.state is SourceState.RECONNECTING:
                    self._count_gap(interval)
                elif interval > 0:
                    inst = 1.0 / interval
                    self._measured_fps = inst if self._measured_fps is None else 0.9 * self._measured_fps + 0.1 * inst
            self._last_good = now
            self._frames += 1
            self._size = (image.shape[1], image.shape[0])
        if self.machine.state is not SourceState.RUNNING:
            self.machine.to(SourceState.RUNNING, "frames flowing")
            self._backoff.reset()

    def _count_gap(self, seconds: float) -> None:
        measured = self._measured_fps if self.settings.is_live and self.settings.fps is None else None
        fps = measured or self._fps or self._measured_fps or _FALLBACK_FPS
        self._gap_s += seconds
        self._gap_frames += max(0, round(seconds * fps) - 1)
        log.warning("stream %s: resumed after %.1f s without frames", self.name, seconds)

    def _after_end(self) -> Capture | None:
        s = self.settings
        if s.is_file:
            if s.loop and self._frames and not self._stop.is_set():
                return self._connect()
            self.machine.to(SourceState.ENDED, "end of file")
            return None
        with self._lock:
            self._reconnects += 1
        if self.machine.state is SourceState.RUNNING:
            log.warning("stream %s: no frames from %s; reconnecting", self.name, s.uri.redacted())
        self.machine.to(SourceState.RECONNECTING, "read failed")
        # Wait even when the open succeeds: a source that opens but never delivers must not spin.
        self._stop.wait(self._backoff.next_delay())
        return self._connect()

    def _connect(self) -> Capture | None:
        """Open the source, retrying live sources with backoff; None when stopped or failed."""
        s = self.settings
        reported = False
        while not self._stop.is_set():
            try:
                cap = self._opener(s.uri, s.capture)
            except SourceError as exc:
                if s.is_file:
                    self._fail(str(exc))
                    return None
                if s.max_retries is not None and self._backoff.attempts >= s.max_retries:
                    self._fail(f"{exc} (gave up after {self._backoff.attempts} retries)")
                    return None
                if not reported:  # one line per outage, not one per attempt
                    log.error("stream %s: %s; retrying", self.name, exc)
                    reported = True
                with self._lock:
                    self._error = str(exc)
                if self.machine.state is SourceState.STARTING:
                    self.machine.to(SourceState.RECONNECTING, "open failed")
                self._stop.wait(self._backoff.next_delay())
                continue
            self._opened(cap)
            return cap
        return None

    def _opened(self, cap: Capture) -> None:
        with self._lock:
            self._backend = cap.backend
            self._error = None
            if self.settings.fps is None:
                self._fps = cap.declared_fps()

    def _fail(self, message: str) -> None:
        with self._lock:
            self._error = message
        log.error("stream %s: %s", self.name, message)
        if not self.machine.state.terminal:
            self.machine.to(SourceState.FAILED, message)
