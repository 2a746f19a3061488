"""What is uploaded: the frame shrunk to the model's input size, and the answer mapped back.

The hosted server resizes every image to the model's input size anyway, so a larger upload
only costs bytes (shared/specs/hosted-api-v1.md §5). As the Roboflow SDKs do, the frame is
shrunk with its aspect kept until neither side exceeds the limit, never enlarged, and the
answer's coordinates are scaled back to the frame's pixels at the v1-JSON level: boxes,
polygon points and keypoints are numbers to multiply, and a semantic ``segmentation_mask``
(a class-id PNG) is resized with nearest neighbour, so class ids stay class ids.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.tasks.rle import rescale_v1


@dataclass(frozen=True)
class Fit:
    """A frame's size and the size it is uploaded at (equal: sent as it is)."""

    width: int
    height: int
    sent_width: int
    sent_height: int

    def __post_init__(self) -> None:
        if min(self.width, self.height, self.sent_width, self.sent_height) < 1:
            raise EdgeError(f"image sizes must be positive, got {self}")

    @property
    def resized(self) -> bool:
        return (self.sent_width, self.sent_height) != (self.width, self.height)

    def shrunk(self, factor: float) -> Fit:
        """The same frame sent ``factor`` times smaller again (for a 413 or the size limit)."""
        w, h = max(1, round(self.sent_width * factor)), max(1, round(self.sent_height * factor))
        return Fit(self.width, self.height, w, h)


def fit(width: int, height: int, limit: tuple[int, int] | None) -> Fit:
    """The upload size of a ``width`` x ``height`` frame: aspect kept, within ``limit``
    (width, height), never larger than the frame. ``limit`` None: the frame's own size."""
    if limit is None:
        return Fit(width, height, width, height)
    scale = min(1.0, limit[0] / width, limit[1] / height)
    # Rounding may not push a side past the limit: 641 px for a 640 limit would be resized again.
    w = min(max(1, round(width * scale)), width if scale == 1.0 else limit[0])
    h = min(max(1, round(height * scale)), height if scale == 1.0 else limit[1])
    return Fit(width, height, w, h)


def shrink(image: npt.NDArray[np.uint8], size: Fit) -> npt.NDArray[np.uint8]:
    if not size.resized:
        return image
    # Bilinear, as the server's own letterbox resizes: sent at the model's input size, the
    # network sees (JPEG aside) the tensor it would have made from the full frame.
    out = cv2.resize(image, (size.sent_width, size.sent_height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(out, dtype=np.uint8)


def to_frame(doc: dict[str, Any], size: Fit) -> dict[str, Any]:
    """The v1 document of an upload at ``size``, in the frame's pixels (``doc`` is not changed)."""
    if not size.resized:
        return doc
    kx, ky = size.width / size.sent_width, size.height / size.sent_height
    out = dict(doc)
    out["image"] = {"width": size.width, "height": size.height}
    preds = doc.get("predictions")
    if isinstance(preds, list):
        out["predictions"] = [_scaled(p, kx, ky, size.width, size.height) if isinstance(p, dict) else p for p in preds]
    elif isinstance(preds, dict) and "segmentation_mask" in preds:  # semantic, inference-server shape
        out["predictions"] = _mask_to_frame(preds, size)
    if "segmentation_mask" in doc:  # semantic, legacy shape: at the top level
        out.update(_mask_to_frame(doc, size))
    return out


def _scaled(p: dict[str, Any], kx: float, ky: float, width: int, height: int) -> dict[str, Any]:
    q = dict(p)
    for key, k in (("x", kx), ("y", ky), ("width", kx), ("height", ky)):
        if key in q:
            q[key] = float(q[key]) * k
    for key in ("points", "keypoints"):
        if isinstance(q.get(key), list):
            q[key] = [{**pt, "x": float(pt["x"]) * kx, "y": float(pt["y"]) * ky} for pt in q[key]]
    if "rle" in q:  # response_mask_format=rle: the mask at the frame's size
        q["rle"] = rescale_v1(q["rle"], width, height)
    return q


def _mask_to_frame(part: dict[str, Any], size: Fit) -> dict[str, Any]:
    out = dict(part)
    for key in ("segmentation_mask", "confidence_mask"):
        if key in part:
            out[key] = _resize_png(part[key], size.width, size.height, key)
    return out


def _resize_png(data: str, width: int, height: int, key: str) -> str:
    png = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if png is None:
        raise EdgeError(f"the answer's {key} is not a PNG")
    # Nearest neighbour: a class id between two others is no class at all.
    big = cv2.resize(png, (width, height), interpolation=cv2.INTER_NEAREST)
    ok, encoded = cv2.imencode(".png", big)
    if not ok:
        raise EdgeError(f"OpenCV could not encode the resized {key}")
    return base64.b64encode(encoded.tobytes()).decode()
