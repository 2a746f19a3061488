from __future__ import annotations

import pytest

from edge.sources import SourceError, SourceKind, parse_uri


@pytest.mark.parametrize(
    ("text", "kind", "target", "live"),
    [
        ("videos/clip.mp4", SourceKind.FILE, "videos/clip.mp4", False),
        ("file:///data/clip%20one.mp4", SourceKind.FILE, "/data/clip one.mp4", False),
        ("rtsp://user:pw@cam.local:554/stream", SourceKind.RTSP, "rtsp://user:pw@cam.local:554/stream", True),
        ("rtsps://cam/s", SourceKind.RTSP, "rtsps://cam/s", True),
        ("v4l2:///dev/video2", SourceKind.V4L2, "/dev/video2", True),
        ("v4l2://1", SourceKind.V4L2, "1", True),
        ("/dev/video0", SourceKind.V4L2, "/dev/video0", True),
        ("0", SourceKind.V4L2, "0", True),
        ("csi://0", SourceKind.CSI, "0", True),
        ("gst://videotestsrc ! videoconvert ! appsink", SourceKind.GST, "videotestsrc ! videoconvert ! appsink", True),
        ("gst://videotestsrc ! appsink drop=true", SourceKind.GST, "videotestsrc ! appsink drop=true", True),
        ("http://cam.local/mjpeg", SourceKind.HTTP, "http://cam.local/mjpeg", True),
    ],
)
def test_parse_accepted_forms(text: str, kind: SourceKind, target: str, live: bool) -> None:
    uri = parse_uri(text)
    assert (uri.kind, uri.target, uri.kind.live) == (kind, target, live)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty source URI"),
        ("ftp://host/x.mp4", "unsupported scheme 'ftp'"),
        ("rtsp:///stream", "needs a host"),
        ("v4l2://camera", "v4l2:///dev/videoN"),
        ("csi://front", "csi://N"),
        ("gst://videotestsrc ! autovideosink", "must end in appsink"),
        ("file://", "needs a path"),
    ],
)
def test_parse_rejects_with_a_hint(text: str, says: str) -> None:
    with pytest.raises(SourceError, match=says) as info:
        parse_uri(text)
    assert "\n" not in str(info.value)


def test_device_index_and_redaction() -> None:
    assert parse_uri("csi://2").device_index == 2
    assert parse_uri("v4l2://3").device_index == 3
    assert parse_uri("/dev/video3").device_index is None
    assert parse_uri("rtsp://admin:secret@cam/s").redacted() == "rtsp://admin:***@cam/s"
    assert "secret" not in parse_uri("http://u:secret@h/x").redacted()
