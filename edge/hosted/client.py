"""A client for the hosted API v1 route: ``POST {host}/{project}/{version}`` with a base64 image.

Follows shared/specs/hosted-api-v1.md: the body is the base64 of a JPEG, sent as
``application/x-www-form-urlencoded``; the key goes in ``api_key`` (query); ``confidence`` and
``overlap`` as fractions. 429, 503, 504 and dropped connections are retried after
``Retry-After`` (or 1 s), other errors are not (400-423 cannot succeed on retry). A frame whose
request would pass the 5 MB limit is shrunk first and the answer scaled back to its size.
Every error is one line that never contains the key.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.tasks.params import InferenceParams

MAX_BODY = 5 * 1024 * 1024  # the v1 hosts' request limit
_RETRY = frozenset({429, 503, 504})


class HostedError(EdgeError):
    """A request that failed; ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Encoded:
    body: bytes
    scale: float  # sent size / frame size (1.0: sent at full size)


def encode(image: npt.NDArray[np.uint8], quality: int = 90, limit: int = MAX_BODY) -> Encoded:
    """The base64 JPEG body for ``image``, shrunk until it fits ``limit`` with room for the query."""
    scale = 1.0
    h, w = image.shape[:2]
    while True:
        frame = image if scale == 1.0 else cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))))
        ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise HostedError("OpenCV could not encode the frame as JPEG")
        body = base64.b64encode(jpeg.tobytes())
        if len(body) <= limit - 4096 or min(frame.shape[:2]) <= 32:
            return Encoded(body, scale)
        scale *= 0.7


def rescale(doc: dict[str, Any], scale: float, width: int, height: int) -> dict[str, Any]:
    """A v1 document for an image sent at ``scale`` x its size, in the full frame's pixels."""
    if scale == 1.0:
        return doc
    k = 1.0 / scale
    out = dict(doc)
    out["image"] = {"width": width, "height": height}
    preds = doc.get("predictions")
    if isinstance(preds, list):
        scaled = []
        for p in preds:
            q = dict(p)
            for key in ("x", "y", "width", "height"):
                if key in q:
                    q[key] = float(q[key]) * k
            for key in ("points", "keypoints"):
                if key in q:
                    q[key] = [{**pt, "x": float(pt["x"]) * k, "y": float(pt["y"]) * k} for pt in q[key]]
            scaled.append(q)
        out["predictions"] = scaled
    if "segmentation_mask" in doc:  # class ids: nearest neighbour back to the frame's size
        png = cv2.imdecode(np.frombuffer(base64.b64decode(doc["segmentation_mask"]), np.uint8), cv2.IMREAD_UNCHANGED)
        if png is None:
            raise HostedError("the answer's segmentation_mask is not a PNG")
        big = cv2.resize(png, (width, height), interpolation=cv2.INTER_NEAREST)
        out["segmentation_mask"] = base64.b64encode(cv2.imencode(".png", big)[1].tobytes()).decode()
    return out


class HostedClient:
    """Sends frames to one hosted model. Thread-safe (each call opens its own connection)."""

    def __init__(
        self, base_url: str, model_id: str, api_key: str, timeout: float = 10.0, retries: int = 2, quality: int = 90
    ) -> None:
        self._endpoint = f"{base_url.rstrip('/')}/{model_id}"
        self._key = api_key
        self._timeout = timeout
        self._retries = retries
        self._quality = quality
        self.where = f"hosted API {self._endpoint}"  # safe to log: no key

    def infer(self, image: npt.NDArray[np.uint8], params: InferenceParams) -> dict[str, Any]:
        """The v1 document for ``image`` (BGR), in its own pixels."""
        enc = encode(image, self._quality)
        query = {
            "api_key": self._key,
            "confidence": f"{params.confidence:g}",
            "overlap": f"{params.overlap:g}",
            "max_detections": str(params.max_detections),
            "keypoint_confidence": f"{params.keypoint_confidence:g}",
        }
        url = f"{self._endpoint}?{urllib.parse.urlencode(query)}"
        doc = self._post(url, enc.body)
        return rescale(doc, enc.scale, image.shape[1], image.shape[0])

    def _post(self, url: str, body: bytes) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self._once(url, body)
            except _Retry as retry:
                attempt += 1
                if attempt > self._retries:
                    raise HostedError(
                        f"{self.where}: {retry.reason} (gave up after {attempt} attempts)", retry.status
                    ) from None
                time.sleep(retry.after)

    def _once(self, url: str, body: bytes) -> dict[str, Any]:
        req = urllib.request.Request(url, data=body, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            message = self._scrub(_api_message(exc.read()))
            if exc.code in _RETRY:
                after = _retry_after(exc.headers.get("Retry-After"))
                raise _Retry(f"HTTP {exc.code}: {message}", exc.code, after) from None
            raise HostedError(f"{self.where}: HTTP {exc.code}: {message}", exc.code) from None
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Retry(f"no answer: {self._scrub(str(reason))}", None, 1.0) from None
        try:
            doc = json.loads(payload)
        except ValueError:
            start = self._scrub(payload[:80].decode(errors="replace"))
            raise HostedError(f"{self.where}: the answer is not JSON: {start}") from None
        if not isinstance(doc, dict):
            raise HostedError(f"{self.where}: the answer is not a JSON object")
        return doc

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


class _Retry(Exception):
    def __init__(self, reason: str, status: int | None, after: float) -> None:
        super().__init__(reason)
        self.reason, self.status, self.after = reason, status, after


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1.0), 0.0), 30.0)
    except ValueError:
        return 1.0


def _api_message(raw: bytes) -> str:
    """The server's ``message`` (or ``detail``), else the body's first line, shortened."""
    text = raw.decode(errors="replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        return (text.splitlines() or ["no message"])[0][:200]
    if isinstance(doc, dict):
        for key in ("message", "detail", "error"):
            if key in doc:
                return str(doc[key])[:200]
    return text[:200]
