"""The server's ``api_keys``, for the v1 route and the /api routes alike: ``?api_key=`` or a bearer token."""

from __future__ import annotations

import hmac

from starlette.requests import Request


def authorized(request: Request, keys: frozenset[str]) -> bool:
    if not keys:
        return True
    offered = request.query_params.get("api_key")
    auth = request.headers.get("authorization", "")
    if offered is None and auth.lower().startswith("bearer "):
        offered = auth[7:].strip()
    if not offered:
        return False
    # Every key compared in constant time, so timing tells nothing about the keys.
    return any([hmac.compare_digest(offered.encode(), k.encode()) for k in keys])
