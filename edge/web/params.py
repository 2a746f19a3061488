"""The query parameters of the picture endpoints; an unknown one is an error, not ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.errors import EdgeError

_SWITCHES = ("boxes", "labels", "masks", "keypoints")
_KNOWN = ("height", "quality", "frame", "api_key", *_SWITCHES)


class PictureParamError(EdgeError):
    pass


@dataclass(frozen=True)
class PictureParams:
    """``height`` None: the frame's own; ``frame`` None: the newest complete frame."""

    height: int | None = None
    quality: int = 80
    boxes: bool = True
    labels: bool = True
    masks: bool = True
    keypoints: bool = True
    frame: int | None = None


def parse_picture(query: Mapping[str, str]) -> PictureParams:
    for key in query:
        if key not in _KNOWN:
            raise PictureParamError(f"unknown parameter {key!r}; known: {', '.join(_KNOWN)}")
    height = _int(query, "height", 16, 4320)
    quality = _int(query, "quality", 1, 100)
    frame = _int(query, "frame", 0, 2**62)
    switches = {name: _bool(query, name) for name in _SWITCHES}
    return PictureParams(height, 80 if quality is None else quality, frame=frame, **switches)


def _int(query: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise PictureParamError(f"{name}: a whole number {low}-{high}, got {text[:20]!r}")
    return int(text)


def _bool(query: Mapping[str, str], name: str) -> bool:
    text = query.get(name, "true").lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise PictureParamError(f"{name}: true or false, got {text[:20]!r}")
