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
