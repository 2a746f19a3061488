"""Login sessions of the device page: an opaque random token in an HttpOnly cookie.

The cookie never holds the key: a login with a right key gets a fresh random token, and the
server keeps only the token's SHA-256 (so a memory dump holds no usable token either). Sessions
live in memory: a restart, a logout or :data:`TTL` ends them; at most :data:`LIMIT` are held
(the oldest go first), so a flood of logins cannot grow the daemon.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict

from starlette.requests import Request

from edge.serve.auth import authorized

COOKIE = "edge_session"
TTL = 7 * 86400.0
LIMIT = 256


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self, ttl: float = TTL, limit: int = LIMIT) -> None:
        self._ttl, self._limit = ttl, limit
        self._lock = threading.Lock()
        self._expiry: OrderedDict[str, float] = OrderedDict()  # token digest -> monotonic expiry

    def create(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expiry[_digest(token)] = time.monotonic() + self._ttl
            while len(self._expiry) > self._limit:
                self._expiry.popitem(last=False)
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._expiry.get(_digest(token))
            if expiry is None:
                return False
            if expiry < time.monotonic():
                del self._expiry[_digest(token)]
                return False
            return True

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._expiry.pop(_digest(token), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)


def web_authorized(request: Request, keys: frozenset[str], sessions: Sessions) -> bool:
    """The page's session cookie, or any form the v1 route takes (query, bearer, basic)."""
    return not keys or sessions.valid(request.cookies.get(COOKIE)) or authorized(request, keys)


def cookie_is_secure(request: Request) -> bool:
    """Mark the cookie Secure when the browser reached us over https (directly or via a proxy)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"
