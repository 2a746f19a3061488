"""A guard against DNS rebinding for a device that serves without an API key.

The attack: a web page a user on the device's network (or on the device) opens resolves its own
host name to the device's address, and the user's browser then talks to the device as "the
same site": the page can run the models, read `/api/config` and each camera's `latest.jpg`.
The browser still sends the page's host name in ``Host``, so, with no key to check, only
requests that name the device by an IP address, ``localhost`` (``*.localhost``), or a name in
``http.hosts`` are answered; anything else is 403. With ``api_keys`` set this guard is off:
the page cannot know a key.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from edge.jsonfast import dumps_bytes

REFUSED = (
    "the Host header names this device by a host name that is not allowed: without an API key, only its IP "
    "address, localhost or a name in http.hosts may be used (a guard against DNS rebinding)"
)


def host_allowed(host_header: str, names: frozenset[str]) -> bool:
    """Whether ``Host: host_header`` names the device by an IP, localhost, or one of ``names``."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [v6]:port
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost") or host in names:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HostCheck:
    """ASGI middleware: 403 for a request whose Host header :func:`host_allowed` refuses."""

    def __init__(self, app: ASGIApp, names: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.names = frozenset(n.lower().rstrip(".") for n in names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v for k, v in scope.get("headers", []) if k.lower() == b"host"), None)
            if host is not None and not host_allowed(host.decode("latin-1"), self.names):
                body = dumps_bytes({"message": REFUSED})
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 403, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
