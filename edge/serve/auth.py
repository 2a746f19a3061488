"""The server's ``api_keys``, for the v1 route and the /api routes alike: ``?api_key=``, a bearer
token, or HTTP basic auth whose password is the key (Home Assistant's MJPEG camera speaks basic)."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request


def offered_key(request: Request) -> str | None:
    """The key a request offers, by ``?api_key=``, ``Authorization: Bearer`` or ``Basic`` (the password)."""
    offered = request.query_params.get("api_key")
    if offered is not None:
        return offered
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return text.partition(":")[2]  # the user name is ignored: the password is the key
    return None


def is_key(offered: str | None, keys: frozenset[str]) -> bool:
    if not offered:
        return False
    # Every key compared in constant time, so timing tells nothing about the keys.
    return any([hmac.compare_digest(offered.encode(), k.encode()) for k in keys])


def authorized(request: Request, keys: frozenset[str]) -> bool:
    return not keys or is_key(offered_key(request), keys)
