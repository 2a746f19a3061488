"""Read and discard what is left of a request body before answering it, so clients that send
the whole body before reading (urllib, requests, inference-sdk) receive a refusal (413, 401,
404, ...) instead of a connection reset.

Why the reset happens without this: the route answers a 6 MB body on its Content-Length
without reading it. When the connection is to close after the answer (urllib always sends
``Connection: close``; h11 also closes a connection whose request was not read to its end),
uvicorn closes the socket with the unread body still in the kernel's receive buffer, and
Linux then sends RST instead of FIN. The client, still writing, gets ECONNRESET, and the 413
already in its own receive buffer is thrown away with the connection.

The drain is bounded (:data:`DRAIN_BYTES`, :data:`DRAIN_SECONDS`): a body declared larger
than the bound, or one still coming when the time is up, is answered at once and the
connection closed, which such a client may again see as a reset. A client that asked
``Expect: 100-continue`` (curl) and has not been told to continue has sent no body, so
nothing is drained: it reads the refusal instead of sending.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN_BYTES = 64 * 1024 * 1024  # 12.8x the 5 MB body limit: at 100 Mbit/s about 5 s of upload
DRAIN_SECONDS = 10.0


class DrainUnreadBody:
    """ASGI middleware: before the answer starts, read the rest of the request body (bounded)."""

    def __init__(self, app: ASGIApp, limit: int = DRAIN_BYTES, seconds: float = DRAIN_SECONDS) -> None:
        self.app = app
        self.limit = limit
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = _BodyState.of(scope)

        async def tracked_receive() -> Message:
            state.received = True
            message = await receive()
            state.saw(message)
            return message

        async def draining_send(message: Message) -> None:
            if message["type"] == "http.response.start" and state.unread(self.limit):
                try:
                    await asyncio.wait_for(_discard(receive, state, self.limit), self.seconds)
                except asyncio.TimeoutError:
                    pass  # answered anyway; the client may see the close as a reset
            await send(message)

        await self.app(scope, tracked_receive, draining_send)


class _BodyState:
    def __init__(self, has_body: bool, declared: int | None, expects_continue: bool) -> None:
        self.more = has_body  # a body is (still) to come
        self.declared = declared
        self.expects_continue = expects_continue
        self.received = False  # the app asked for the body (so a 100 Continue went out)
        self.size = 0

    @classmethod
    def of(cls, scope: Scope) -> _BodyState:
        headers: dict[bytes, bytes] = {k.lower(): v for k, v in scope.get("headers", [])}
        length = headers.get(b"content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        expects = headers.get(b"expect", b"").lower() == b"100-continue"
        return cls(chunked or bool(declared), declared, expects)

    def saw(self, message: Message) -> None:
        if message["type"] == "http.disconnect":
            self.more = False
        elif message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            self.more = bool(message.get("more_body", False))

    def unread(self, limit: int) -> bool:
        """Whether body bytes are on their way that the drain should (and may) read."""
        if not self.more or (self.expects_continue and not self.received):
            return False
        return self.declared is None or self.declared <= limit


async def _discard(receive: Receive, state: _BodyState, limit: int) -> None:
    while state.more and state.size <= limit:
        message: Any = await receive()
        state.saw(message)
