from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from edge.sources import CaptureOptions, SourceError, parse_uri
from edge.sources.capture import OpenCVCapture, open_capture


@pytest.mark.parametrize(("threads", "expected"), [(1, 1), (3, 3)])
def test_ffmpeg_decodes_with_the_configured_thread_count(small_clip: Path, threads: int, expected: int) -> None:
    cap = open_capture(parse_uri(str(small_clip)), CaptureOptions(decode_threads=threads))
    try:
        assert isinstance(cap, OpenCVCapture) and cap.backend == "FFmpeg"
        assert int(cap._cap.get(cv2.CAP_PROP_N_THREADS)) == expected
        frame = cap.read()
        assert frame is not None and frame.shape == (240, 320, 3)
    finally:
        cap.release()


def test_decode_threads_default_to_one_and_refuse_negative() -> None:
    assert CaptureOptions().decode_threads == 1
    with pytest.raises(SourceError, match="decode_threads must be 0"):
        CaptureOptions(decode_threads=-1)


@pytest.mark.parametrize(("max_pixels", "refused"), [(320 * 240, False), (320 * 240 - 1, True)])
def test_a_file_over_the_pixel_bound_is_refused_at_open(small_clip: Path, max_pixels: int, refused: bool) -> None:
    """Every kind of source is checked at open (RTSP, V4L2, CSI, GStreamer and files as HTTP cameras)."""
    uri = parse_uri(str(small_clip))
    if not refused:
        open_capture(uri, CaptureOptions(max_pixels=max_pixels)).release()
        return
    with pytest.raises(SourceError, match=r"frames are 320x240 = 0\.1 megapixels, over the limit .*smaller video"):
        open_capture(uri, CaptureOptions(max_pixels=max_pixels))


class _Levels:
    """The two log-level APIs of OpenCV: ``cv2.utils.logging`` (5.x) and ``cv2`` itself (4.x)."""

    def __init__(self, level: int) -> None:
        self.level = level

    def getLogLevel(self) -> int:  # OpenCV's names
        return self.level

    def setLogLevel(self, level: int) -> None:
        self.level = level


@pytest.mark.parametrize(
    ("layout", "before", "after"),
    [
        ("5.x", 4, 2),  # INFO quietened to ERROR
        ("4.x", 4, 2),  # JetPack's 4.8 and pip's 4.x have no cv2.utils.logging
        ("4.x", 1, 1),  # already quieter than ERROR: left alone
    ],
)
def test_opencv_logging_is_quietened_on_4_and_5(layout: str, before: int, after: int) -> None:
    from types import SimpleNamespace

    from edge.sources.capture import quiet_opencv

    levels = _Levels(before)
    if layout == "5.x":
        cv = SimpleNamespace(utils=SimpleNamespace(logging=levels))
    else:
        cv = SimpleNamespace(utils=SimpleNamespace(), getLogLevel=levels.getLogLevel, setLogLevel=levels.setLogLevel)
    quiet_opencv(cv)
    assert levels.level == after
