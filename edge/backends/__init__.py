"""Backends behind one interface, imported only when asked for.

``import edge`` never imports TensorRT, pycuda or onnxruntime; each backend module is loaded
by :func:`create_backend` and a missing runtime becomes a one-line BackendUnavailable error.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from edge.backends.base import Backend
from edge.errors import BackendUnavailable, first_line

# name -> (module, class, pip extra that installs its runtime)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "onnxruntime": ("edge.backends.onnxruntime", "OnnxRuntimeBackend", "cpu"),
    "tensorrt": ("edge.backends.tensorrt", "TensorRTBackend", "tensorrt"),
}


def available_backends() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def create_backend(name: str, onnx_path: Path, **options: Any) -> Backend:
    if name not in _REGISTRY:
        raise BackendUnavailable(f"unknown backend {name!r}; use one of {', '.join(_REGISTRY)}")
    module_name, cls_name, extra = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
    except AttributeError as exc:  # a runtime too old or too new for an API the module uses at import
        raise BackendUnavailable(
            f"backend {name!r} does not work with the installed runtime ({first_line(exc)});"
            f" install the version 'edge[{extra}]' names"
        ) from None
    except ImportError as exc:
        raise BackendUnavailable(
            f"backend {name!r} needs {exc.name or 'a missing module'}; install it with: pip install 'edge[{extra}]'"
        ) from None
    try:
        cls = getattr(module, cls_name)
        backend: Backend = cls(onnx_path, **options)
    except ImportError as exc:
        raise BackendUnavailable(
            f"backend {name!r} needs {exc.name or 'a missing module'}; install it with: pip install 'edge[{extra}]'"
        ) from None
    return backend


__all__ = ["Backend", "available_backends", "create_backend"]
