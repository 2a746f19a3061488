"""The image of a v1 request, read as the hosted API reads it (spec section 1.2).

A body is the base64 of an encoded image (a ``data:`` prefix is stripped), or, as an edge
extension, the encoded image's bytes themselves; multipart puts the bytes in a part named
``file``; ``?image=URL`` has the server download it (for cameras and NVRs on the local
network). Every failure is an :class:`InputError` with the hosted API's wording and status.
"""

from __future__ import annotations

import base64
import binascii
import urllib.error
import urllib.request

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.imagebounds import DEFAULT_MAX_PIXELS, ImageHeaderError, TooManyPixels, check_pixels
from edge.serve.config import MAX_BODY
from edge.serve.urlpolicy import UrlPolicy, UrlRefused

Image = npt.NDArray[np.uint8]
# Encoded images start with one of these; base64 text never does (0xFF, 0x89 are not ASCII).
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"BM", b"GIF8", b"RIFF", b"II*\x00", b"MM\x00*")


class InputError(EdgeError):
    """A request whose image cannot be used; ``status`` is the HTTP answer (400, 413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """BGR uint8 from encoded bytes (JPEG, PNG, ...); EXIF orientation applied, as the API does.
    The header's size is checked against ``max_pixels`` before OpenCV allocates (413 over it)."""
    try:
        check_pixels(data, max_pixels, "send a smaller image (the server's http.max_pixels)")
    except TooManyPixels as exc:
        raise InputError(f"Could not load input image. Cause: {exc}", 413) from None
    except ImageHeaderError as exc:
        raise InputError(f"Could not load input image. Cause: {exc}.") from None
    array = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(array, cv2.IMREAD_COLOR) if array.size else None
    if image is None:
        raise InputError("Could not load input image. Cause: the data is not an image format the server reads.")
    return np.asarray(image, dtype=np.uint8)


def from_body(body: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """The image in a raw request body: base64 text (with or without a data: prefix) or bytes."""
    if body.startswith(_MAGIC):
        return decode_image(body, max_pixels)
    text = body.strip()
    if text.startswith(b"data:"):
        text = text.split(b",", 1)[-1]
    if not text:
        raise InputError("Could not load input image. Cause: the request has no image (empty body).")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(
            "Invalid base64 input. Cause: send the image's base64, its bytes, or a multipart 'file' part."
        ) from None
    return decode_image(raw, max_pixels)


def from_url(
    url: str, timeout: float = 5.0, max_pixels: int = DEFAULT_MAX_PIXELS, policy: UrlPolicy | None = None
) -> Image:
    """Download ``url`` (http or https, at most the body limit, redirects only where ``policy``
    allows; ``None``: any http(s) URL) and decode it. Errors never echo what the URL answered."""
    policy = policy or UrlPolicy(True, True)
    try:
        policy.check(url)
        with _opener(policy).open(url, timeout=timeout) as resp:
            data = resp.read(MAX_BODY + 1)
    except UrlRefused as exc:
        raise InputError(f"Could not load input image. Cause: {exc}.", 403) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError, OSError):
        raise InputError("Could not load input image. Cause: downloading it failed.") from None
    if len(data) > MAX_BODY:
        raise InputError("Could not load input image. Cause: the image at the URL is over 5 MB.", 413)
    return decode_image(data, max_pixels)


def _opener(policy: UrlPolicy) -> urllib.request.OpenerDirector:
    class Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            policy.check(newurl)  # UrlRefused: a redirect out of the allowed set
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(Redirects)
