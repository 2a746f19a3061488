"""The device's primary CUDA context: retained once per process, made current around each use.

TensorRT uses the CUDA runtime, which works in the device's primary context; pycuda's
``autoinit`` would create a second, private context that TensorRT's buffers do not live in.
And a daemon calls a backend from several threads, while a CUDA context is current on one
thread at a time. So every entry point pushes the primary context and pops it afterwards.

The context is retained once per device and kept for the life of the process
(:func:`primary_context`). Retaining and detaching per backend would leak: pycuda's
``detach`` from a thread other than the one that retained does nothing, so each backend
closed on another thread (the daemon's reload thread) kept one reference for good.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


class PrimaryContext:
    """The retained primary context of one device. ``with ctx.active():`` makes it current."""

    def __init__(self, device: int = 0) -> None:
        import pycuda.driver as cuda

        cuda.init()
        self.device = device
        self._cuda: Any = cuda
        self._ctx: Any = cuda.Device(device).retain_primary_context()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        self._ctx.push()
        try:
            yield
        finally:
            self._cuda.Context.pop()


_lock = threading.Lock()
_contexts: dict[int, PrimaryContext] = {}


def primary_context(device: int = 0) -> PrimaryContext:
    """The process's one retained primary context of ``device`` (retained on first use)."""
    with _lock:
        ctx = _contexts.get(device)
        if ctx is None:
            ctx = _contexts[device] = PrimaryContext(device)
        return ctx
