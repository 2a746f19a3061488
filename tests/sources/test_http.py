"""An HTTP MJPEG camera, read through OpenCV's FFmpeg backend."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.sources import Frame, Source, SourceSettings, SourceState, parse_uri
from edge.sources.capture import CaptureOptions, open_capture
from edge.sources.uri import SourceError
from tests.mjpeg_server import MjpegServer


def test_mjpeg_over_http_is_a_live_source_at_its_real_rate(small_clip: Path) -> None:
    frames: list[Frame] = []
    enough = threading.Event()

    def deliver(frame: Frame) -> bool:
        frames.append(frame)
        if len(frames) >= 31:
            enough.set()
        return True

    with MjpegServer(small_clip) as server:
        src = Source(SourceSettings("web", parse_uri(server.uri)), deliver)
        assert src.settings.is_live
        src.start()
        try:
            assert enough.wait(15), src.status()
            status = src.status()
        finally:
            src.stop()
            assert src.join(10)
    assert status.state is SourceState.RUNNING and status.backend == "FFmpeg"
    assert (status.width, status.height) == (320, 240)
    assert status.fps == pytest.approx(15.0, rel=0.2)  # measured: FFmpeg declares 25 for MJPEG
    assert [f.seq for f in frames[:31]] == list(range(31))


@pytest.mark.parametrize(("max_pixels", "refused"), [(320 * 240, False), (320 * 240 - 1, True)])
def test_an_mjpeg_camera_over_the_pixel_bound_is_refused_at_open(
    small_clip: Path, max_pixels: int, refused: bool
) -> None:
    with MjpegServer(small_clip) as server:
        uri = parse_uri(server.uri)
        if not refused:
            open_capture(uri, CaptureOptions(max_pixels=max_pixels)).release()
            return
        with pytest.raises(SourceError, match=r"frames are 320x240 = 0\.1 megapixels, over the limit"):
            open_capture(uri, CaptureOptions(max_pixels=max_pixels))
