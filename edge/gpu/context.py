"""The device's primary CUDA context, made current around each use, on whichever thread.

TensorRT uses the CUDA runtime, which works in the device's primary context; pycuda's
``autoinit`` would create a second, private context that TensorRT's buffers do not live in.
And a daemon calls a backend from several threads, while a CUDA context is current on one
thread at a time. So every entry point pushes the primary context and pops it afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class PrimaryContext:
    """A retained primary context of one device. ``with ctx.active():`` makes it current."""

    def __init__(self, device: int = 0) -> None:
        import pycuda.driver as cuda

        cuda.init()
        self._cuda: Any = cuda
        self._ctx: Any = cuda.Device(device).retain_primary_context()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        self._ctx.push()
        try:
            yield
        finally:
            self._cuda.Context.pop()

    def release(self) -> None:
        """Drop this object's hold on the primary context (it lives on while others hold it)."""
        if self._ctx is not None:
            self._ctx.detach()
            self._ctx = None
