"""How many requests decode an image at once, so the decode peak has a ceiling.

Each decode holds at most ``max_pixels`` x 3 bytes (BGR) once the header check passes, so the
peak of decoded images is ``max_decodes`` x ``max_pixels`` x 3 bytes (2 x 40 MP x 3 = 240 MB by
default). Requests beyond ``max_decodes`` wait their turn on the event loop, holding only their
encoded bytes (at most the 5 MB body limit each).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class DecodeGate:
    def __init__(self, max_pixels: int, max_decodes: int) -> None:
        self.max_pixels = max_pixels
        self.max_decodes = max_decodes
        self._slots: asyncio.Semaphore | None = None  # made on the server's loop, at first use
        self.active = 0
        self.peak = 0  # the most decodes seen at once (for tests and metrics)

    def ceiling_bytes(self) -> int:
        return self.max_decodes * self.max_pixels * 3

    async def run(self, decode: Callable[[], T]) -> T:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_decodes)
        async with self._slots:
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                return await run_in_threadpool(decode)
            finally:
                self.active -= 1
