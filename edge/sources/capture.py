"""Opening a source with OpenCV: GStreamer where the build has it, FFmpeg otherwise.

On a Jetson (JetPack's OpenCV is built with GStreamer) RTSP decodes in hardware through
``decodebin`` picking ``nvv4l2decoder`` and CSI cameras go through ``nvarguscamerasrc``.
The pip OpenCV has FFmpeg only; it reads files, RTSP (over TCP, with open and read
timeouts so a dead server is noticed quickly) and HTTP MJPEG.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge.imagebounds import DEFAULT_MAX_PIXELS
from edge.sources.uri import SourceError, SourceKind, SourceUri

# OpenCV reads these when its FFmpeg backend opens something: RTSP over TCP (UDP loses
# packets on busy networks and then decodes grey smears), half a second of stream probing
# (the default 5 s delays every reconnect) and quiet FFmpeg logging, since
# every failure is reported once, in one line, by the source itself.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp|analyzeduration;500000")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

import cv2  # after the environment it reads

_LOG_LEVEL_ERROR = 2  # OpenCV's cv::utils::logging::LOG_LEVEL_ERROR, the same number in 4.x and 5.x


def quiet_opencv(cv: Any) -> None:
    """cv2 may have been imported before the environment was set (preprocessing imports it too).
    OpenCV 5 has ``cv2.utils.logging``; 4.x (JetPack's 4.8, pip's 4.14) only ``cv2.setLogLevel``."""
    logging_ns = getattr(getattr(cv, "utils", None), "logging", None)
    get = getattr(logging_ns, "getLogLevel", None) or getattr(cv, "getLogLevel", None)
    set_ = getattr(logging_ns, "setLogLevel", None) or getattr(cv, "setLogLevel", None)
    if get is not None and set_ is not None and get() > _LOG_LEVEL_ERROR:
        set_(_LOG_LEVEL_ERROR)


quiet_opencv(cv2)

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class CaptureOptions:
    """``width``/``height``/``fps`` are requests to cameras (v4l2, csi); files and streams ignore them."""

    open_timeout_s: float = 5.0
    read_timeout_s: float = 3.0
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    latency_ms: int = 200  # rtspsrc jitter buffer (GStreamer only)
    # FFmpeg decoder threads per stream; 0: FFmpeg's choice (one per core). One thread decodes
    # a 640x480 frame in half the CPU time of two (frame threading costs hand-offs), and on a
    # CPU that also runs the models every cycle counts; streams decode in parallel anyway.
    decode_threads: int = 1
    # HTTP/MJPEG cameras: a stream whose frames are over this many pixels is refused at open
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.open_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise SourceError("capture timeouts must be positive")
        if self.decode_threads < 0:
            raise SourceError(f"decode_threads must be 0 (FFmpeg's choice) or more, got {self.decode_threads}")


class Capture(Protocol):
    """An opened source. ``read`` returns None when no frame came (end, drop or timeout)."""

    backend: str

    def read(self) -> Image | None: ...

    def declared_fps(self) -> float | None: ...

    def release(self) -> None: ...


class OpenCVCapture:
    def __init__(self, cap: Any, backend: str) -> None:
        self._cap = cap
        self.backend = backend

    def read(self) -> Image | None:
        ok, frame = self._cap.read()
        if not ok or frame is None:
            return None
        if frame.ndim == 2:  # some cameras deliver grey
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return np.asarray(frame, dtype=np.uint8)

    def declared_fps(self) -> float | None:
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        # RTSP streams often report the 90 kHz clock or nothing; callers measure instead.
        return fps if 0.5 <= fps <= 240 else None

    def release(self) -> None:
        self._cap.release()


@functools.cache
def gstreamer_available() -> bool:
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line
    return False


@functools.cache
def on_jetson() -> bool:
    return Path("/etc/nv_tegra_release").exists()


_TO_BGR = "videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false"


def gst_pipeline(uri: SourceUri, options: CaptureOptions, jetson: bool) -> str:
    """The GStreamer pipeline OpenCV opens for ``uri`` (rtsp, csi or gst)."""
    if uri.kind is SourceKind.GST:
        return uri.target
    if uri.kind is SourceKind.CSI:
        w, h, fps = options.width or 1280, options.height or 720, int(options.fps or 30)
        return (
            f"nvarguscamerasrc sensor-id={uri.target} ! "
            f"video/x-raw(memory:NVMM),width={w},height={h},framerate={fps}/1 ! "
            f"nvvidconv ! video/x-raw,format=BGRx ! {_TO_BGR}"
        )
    if uri.kind is SourceKind.RTSP:
        # decodebin ranks nvv4l2decoder first on JetPack: hardware decode of H.264/H.265.
        convert = "nvvidconv ! video/x-raw,format=BGRx ! " if jetson else ""
        timeout_us = int(options.read_timeout_s * 1e6)
        return (
            f'rtspsrc location="{uri.target}" latency={options.latency_ms} protocols=tcp tcp-timeout={timeout_us} ! '
            f"decodebin ! {convert}{_TO_BGR}"
        )
    raise SourceError(f"{uri.redacted()}: no GStreamer pipeline for {uri.kind.value} sources")


def _ffmpeg_params(options: CaptureOptions) -> list[int]:
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        int(options.open_timeout_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        int(options.read_timeout_s * 1000),
    ]
    if options.decode_threads:
        params += [cv2.CAP_PROP_N_THREADS, options.decode_threads]
    return params


def _open_v4l2(uri: SourceUri, options: CaptureOptions) -> tuple[Any, str]:
    target: int | str = int(uri.target) if uri.target.isdigit() else uri.target
    if isinstance(target, str) and not Path(target).exists():
        raise SourceError(f"{uri.redacted()}: no such device {target} (is the camera plugged in?)")
    cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
    for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, options.width), (cv2.CAP_PROP_FRAME_HEIGHT, options.height)):
        if value:
            cap.set(prop, value)
    if options.fps:
        cap.set(cv2.CAP_PROP_FPS, options.fps)
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a backlog
    return cap, "V4L2"


def open_capture(uri: SourceUri, options: CaptureOptions | None = None) -> Capture:
    """Open ``uri``; raises SourceError with a one-line reason when it cannot be opened."""
    options = options or CaptureOptions()
    gst = gstreamer_available()
    if uri.kind in (SourceKind.CSI, SourceKind.GST) and not gst:
        raise SourceError(
            f"{uri.redacted()}: {uri.kind.value}:// needs OpenCV built with GStreamer "
            "(on Jetson: JetPack's python3-opencv, not opencv-python from pip)"
        )
    if uri.kind is SourceKind.FILE and not Path(uri.target).is_file():
        raise SourceError(f"{uri.redacted()}: no such file")
    if uri.kind is SourceKind.V4L2:
        cap, backend = _open_v4l2(uri, options)
    elif uri.kind in (SourceKind.CSI, SourceKind.GST) or (uri.kind is SourceKind.RTSP and gst):
        cap, backend = cv2.VideoCapture(gst_pipeline(uri, options, on_jetson()), cv2.CAP_GSTREAMER), "GStreamer"
    else:
        cap, backend = cv2.VideoCapture(uri.target, cv2.CAP_FFMPEG, _ffmpeg_params(options)), "FFmpeg"
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"{uri.redacted()}: OpenCV ({backend}) cannot open it")
    _check_frame_size(cap, uri, options.max_pixels)  # every kind: HTTP, RTSP, V4L2, CSI, GStreamer, files
    return OpenCVCapture(cap, backend)


def _check_frame_size(cap: Any, uri: SourceUri, limit: int) -> None:
    """Refuse a stream whose frames are over ``limit`` pixels, before edge reads a frame. A
    backend that reports no size at open (0: some GStreamer pipelines) is not refused."""
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    if width * height > limit:
        cap.release()
        hint = "use a smaller video" if uri.kind is SourceKind.FILE else "set the camera to a smaller resolution"
        raise SourceError(
            f"{uri.redacted()}: frames are {width}x{height} = {width * height / 1e6:.1f} megapixels, over the "
            f"limit of {limit / 1e6:g} megapixels (streams.NAME.max_pixels); {hint}"
        )
