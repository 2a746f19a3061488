"""Errors of engine builds and loads, each one line; TensorRT's own log lines ride along."""

from __future__ import annotations

from collections.abc import Sequence

from edge.errors import EdgeError


class EngineError(EdgeError):
    """Base of engine cache, build and load errors."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        # TensorRT's log lines that explain the failure; kept out of the one-line message.
        self.details: tuple[str, ...] = tuple(details)


class BuildError(EngineError):
    """A build that failed; it is remembered and not retried until its inputs change."""


class BuildCancelled(EngineError):
    """A build stopped on request (shutdown, superseded inputs); not a failure to remember."""


class EngineLoadError(EngineError):
    """An engine file that TensorRT refused to deserialize."""
