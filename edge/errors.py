"""The errors a user can cause, each with a one-line message that says what to fix."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """An exception's first line, or its type name when it has no message: what a one-line
    report shows of an error raised by code that is not ours (TensorRT, ONNX Runtime, HTTP)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class EdgeError(Exception):
    """Base of every error the CLI reports as one line instead of a traceback."""


class ModelError(EdgeError):
    """A model file or package that cannot be used as given."""


class OutputShapeError(ModelError):
    """A model output that does not fit the model's task."""

    def __init__(self, tensor: str, expected: str, actual: tuple[object, ...], task: str) -> None:
        shape = "(" + ", ".join(str(d) for d in actual) + ")"
        super().__init__(f"output '{tensor}' has shape {shape}, expected {expected} for a {task} model")


class ImageError(EdgeError):
    """An image that is missing or cannot be decoded."""


class BackendUnavailable(EdgeError):
    """A backend whose runtime library is not installed."""
