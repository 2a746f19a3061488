"""Source URIs: what a stream reads from, parsed once into a typed value.

Accepted forms: a file path or ``file://`` URI; ``rtsp://`` (``rtsps://``); ``v4l2:///dev/videoN``,
``v4l2://N``, ``/dev/videoN`` or a bare device index ``N``; ``csi://N`` (a Jetson CSI camera);
``gst://<pipeline ending in appsink>``; ``http(s)://`` (MJPEG or anything FFmpeg reads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from edge.errors import EdgeError


class SourceError(EdgeError):
    """A source that cannot be used as written, or cannot be opened."""


class SourceKind(str, Enum):
    FILE = "file"
    RTSP = "rtsp"
    V4L2 = "v4l2"
    CSI = "csi"
    GST = "gst"
    HTTP = "http"

    @property
    def live(self) -> bool:
        """Live sources keep only the newest frame; files are read whole."""
        return self is not SourceKind.FILE


@dataclass(frozen=True)
class SourceUri:
    """``target`` is what the capture opens: a path, a URL, a device path or index, or a pipeline."""

    kind: SourceKind
    target: str
    text: str

    @property
    def device_index(self) -> int | None:
        if self.kind is SourceKind.CSI or (self.kind is SourceKind.V4L2 and self.target.isdigit()):
            return int(self.target)
        return None

    def redacted(self) -> str:
        """The URI without a password, for logs and stats."""
        return re.sub(r"(://[^/:@]+):[^/@]*@", r"\1:***@", self.text)


_FORMS = "a file path, file://, rtsp://, v4l2:///dev/videoN, a device index, csi://N, gst://... ! appsink, http(s)://"


def parse_uri(text: str) -> SourceUri:
    """Parse a source URI; raises SourceError naming the accepted forms."""
    raw = text.strip()
    if not raw:
        raise SourceError(f"empty source URI; write {_FORMS}")
    if raw.isdigit():
        return SourceUri(SourceKind.V4L2, raw, raw)
    if re.fullmatch(r"/dev/video\d+", raw):
        return SourceUri(SourceKind.V4L2, raw, raw)
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if not scheme:
        return SourceUri(SourceKind.FILE, str(Path(raw).expanduser()), raw)
    rest = raw.split("://", 1)[1]
    if scheme == "file":
        path = unquote(urlsplit(raw).path)
        if not path:
            raise SourceError(f"{raw!r}: a file URI needs a path, e.g. file:///videos/clip.mp4")
        return SourceUri(SourceKind.FILE, path, raw)
    if scheme in ("rtsp", "rtsps"):
        if not urlsplit(raw).hostname:
            raise SourceError(f"{raw!r}: an RTSP URI needs a host, e.g. rtsp://camera.local:554/stream")
        return SourceUri(SourceKind.RTSP, raw, raw)
    if scheme in ("http", "https"):
        if not urlsplit(raw).hostname:
            raise SourceError(f"{raw!r}: an HTTP URI needs a host, e.g. http://camera.local/mjpeg")
        return SourceUri(SourceKind.HTTP, raw, raw)
    if scheme == "v4l2":
        if rest.isdigit() or re.fullmatch(r"/dev/video\d+", rest):
            return SourceUri(SourceKind.V4L2, rest, raw)
        raise SourceError(f"{raw!r}: write v4l2:///dev/videoN or v4l2://N")
    if scheme == "csi":
        if not rest.isdigit():
            raise SourceError(f"{raw!r}: write csi://N with N the sensor id, e.g. csi://0")
        return SourceUri(SourceKind.CSI, rest, raw)
    if scheme == "gst":
        if not re.search(r"\bappsink\b[^!]*$", rest):
            raise SourceError(f"{raw!r}: a gst:// pipeline must end in appsink, e.g. gst://videotestsrc ! appsink")
        return SourceUri(SourceKind.GST, rest.strip(), raw)
    raise SourceError(f"{raw!r}: unsupported scheme {scheme!r}; write {_FORMS}")
