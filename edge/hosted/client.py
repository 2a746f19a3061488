"""A client for the hosted API v1 route: ``POST {host}/{project}/{version}`` with a base64 image.

Follows shared/specs/hosted-api-v1.md: the body is the base64 of a JPEG, sent as
``application/x-www-form-urlencoded``; the key goes in ``api_key`` (query); ``confidence`` and
``overlap`` as fractions. The frame is shrunk to ``upload_size`` (the model's input size) and to
the 5 MB request limit first, and the answer mapped back to the frame's pixels
(:mod:`edge.hosted.resize`). 429, 503, 504 and dropped connections are retried after
``Retry-After`` (or 1 s); a 413 shrinks the image once more and retries; other errors are not
retried (400-423 cannot succeed on retry). Each attempt passes through a :class:`Gate` first,
which may hold it (rate) or refuse it (breaker, daily limit, fallback off).

Each thread keeps one keep-alive connection to the host (``http.client``: the standard
library's own HTTP/1.1 client, so no new dependency; a pool would add nothing here, since
each request thread sends one request at a time). Every error is one line without the key.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError, first_line
from edge.hosted.resize import Fit, fit, shrink, to_frame
from edge.tasks.params import InferenceParams

MAX_BODY = 5 * 1024 * 1024  # the v1 hosts' request limit
_RETRY = frozenset({429, 503, 504})
_SHRINK_413 = 0.5  # a 413 says the body is too large; half the sides is a quarter of the bytes


class HostedError(EdgeError):
    """A request that failed or was not sent; ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None, sent: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.sent = sent  # False: refused before any request (breaker, limit, fallback off)


class Gate(Protocol):
    """What each request attempt passes through (the fallback's guard)."""

    def admit(self, first: bool) -> None:
        """Return when the attempt may go; raise :class:`HostedError` (``sent=False``) if not."""

    def record(self, status: int | None, sent_bytes: int) -> None:
        """After an attempt: its HTTP status (None: no answer) and the bytes uploaded."""


class OpenGate:
    """Every attempt goes; nothing is counted."""

    def admit(self, first: bool) -> None:
        return None

    def record(self, status: int | None, sent_bytes: int) -> None:
        return None


@dataclass(frozen=True)
class Encoded:
    body: bytes
    size: Fit


def encode(image: npt.NDArray[np.uint8], quality: int = 90, limit: int = MAX_BODY, size: Fit | None = None) -> Encoded:
    """The base64 JPEG body for ``image`` at ``size``, shrunk until it fits ``limit`` with room for the query."""
    size = size or fit(image.shape[1], image.shape[0], None)
    while True:
        ok, jpeg = cv2.imencode(".jpg", shrink(image, size), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise HostedError("OpenCV could not encode the frame as JPEG")
        body = base64.b64encode(jpeg.tobytes())
        if len(body) <= limit - 4096 or min(size.sent_width, size.sent_height) <= 32:
            return Encoded(body, size)
        size = size.shrunk(0.7)


class HostedClient:
    """Sends frames to one hosted model. Thread-safe: each thread has its own connection."""

    def __init__(
        self,
        base_url: str,
        model_id: str,
        api_key: str,
        timeout: float = 10.0,
        retries: int = 2,
        quality: int = 90,
        upload_size: tuple[int, int] | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EdgeError(f"hosted API URL must be http(s)://host[:port], got {base_url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = f"{parts.path}/{model_id}"
        self._key = api_key
        self._timeout = timeout
        self._retries = retries
        self._quality = quality
        self.upload_size = upload_size  # (width, height) that uploads never exceed; None: frame size
        self._local = threading.local()
        self._tls = ssl.create_default_context() if self._https else None
        self.where = f"hosted API {base_url.rstrip('/')}/{model_id}"  # safe to log: no key

    def infer(self, image: npt.NDArray[np.uint8], params: InferenceParams, gate: Gate | None = None) -> dict[str, Any]:
        """The v1 document for ``image`` (BGR), in its own pixels."""
        gate = gate or OpenGate()
        enc = encode(image, self._quality, size=fit(image.shape[1], image.shape[0], self.upload_size))
        query = urllib.parse.urlencode(
            {
                "api_key": self._key,
                "confidence": f"{params.confidence:g}",
                "overlap": f"{params.overlap:g}",
                "max_detections": str(params.max_detections),
                "keypoint_confidence": f"{params.keypoint_confidence:g}",
                **mask_query(params),
            }
        )
        attempt, shrunk, last = 0, False, _Retry("", None, 0.0)
        while True:
            try:
                gate.admit(first=attempt == 0)
            except HostedError as refused:
                if attempt == 0:
                    raise  # nothing was sent for this frame
                raise HostedError(
                    f"{self.where}: {last.reason} ({refused}, after {attempt} attempts)", last.status
                ) from None
            attempt += 1
            try:
                doc = self._once(f"{self._path}?{query}", enc.body)
            except _Retry as retry:
                last = retry
                gate.record(retry.status, len(enc.body))
                if attempt > self._retries:
                    raise HostedError(
                        f"{self.where}: {retry.reason} (gave up after {attempt} attempts)", retry.status
                    ) from None
                time.sleep(retry.after)
                continue
            except HostedError as exc:
                gate.record(exc.status, len(enc.body))
                if exc.status == 413 and not shrunk:  # once: a second 413 is not about the size
                    shrunk = True
                    enc = encode(image, self._quality, size=enc.size.shrunk(_SHRINK_413))
                    continue
                raise
            gate.record(200, len(enc.body))
            return to_frame(doc, enc.size)

    # -- one request on this thread's connection ------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._tls is not None:
                conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._tls)
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _exchange(self, target: str, body: bytes) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for fresh in (False, True):
            reused = getattr(self._local, "conn", None) is not None
            conn = self._connection()
            try:
                conn.request("POST", target, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop_connection()
                if reused and not fresh:
                    continue  # the server closed an idle keep-alive connection: send again, once
                raise
            except BaseException:
                self._drop_connection()
                raise
            if resp.will_close:
                self._drop_connection()
            return resp.status, resp.headers, data
        raise AssertionError("unreachable")

    def _once(self, target: str, body: bytes) -> dict[str, Any]:
        try:
            status, headers, payload = self._exchange(target, body)
        except (OSError, http.client.HTTPException) as exc:  # timeouts and refused connections are OSErrors
            raise _Retry(f"no answer: {self._scrub(first_line(exc)[:200])}", None, 1.0) from None
        if status >= 300:
            message = self._scrub(_api_message(payload))
            if status in _RETRY:
                raise _Retry(f"HTTP {status}: {message}", status, _retry_after(headers.get("Retry-After")))
            raise HostedError(f"{self.where}: HTTP {status}: {message}", status)
        try:
            doc = json.loads(payload)
        except ValueError:
            start = self._scrub(payload[:80].decode(errors="replace"))
            raise HostedError(f"{self.where}: the answer is not JSON: {start}", status) from None
        if not isinstance(doc, dict):
            raise HostedError(f"{self.where}: the answer is not a JSON object", status)
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


def mask_query(params: InferenceParams) -> dict[str, str]:
    """The mask options that differ from the server's defaults, as its query takes them, so
    that hosted answers are built (and shaped: points or rle) as the local ones are."""
    out: dict[str, str] = {}
    if params.mask_decode_mode != "accurate":
        out["mask_decode_mode"] = params.mask_decode_mode
    if params.mask_decode_mode == "tradeoff":
        out["tradeoff_factor"] = f"{params.tradeoff_factor:g}"
    if params.response_mask_format != "polygon":
        out["response_mask_format"] = params.response_mask_format
    return out
