"""``backend: auto``: TensorRT 10 where it imports, ONNX Runtime otherwise, said once in the log."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from types import ModuleType

from edge.engines.trt_version import tensorrt_version, version_problem
from edge.errors import BackendUnavailable

log = logging.getLogger("edge.engines")

BACKENDS = ("auto", "tensorrt", "onnxruntime")
# The TensorRT backend needs both: the runtime, and pycuda for its buffers and stream.
_TRT_MODULES = ("tensorrt", "pycuda.driver")


class BackendResolver:
    """Resolves backend names; probes the TensorRT imports once per instance, logs once."""

    def __init__(self, importer: Callable[[str], ModuleType] = importlib.import_module) -> None:
        self._import = importer
        self._lock = threading.Lock()
        self._auto: str | None = None

    def resolve(self, requested: str) -> str:
        name = requested.strip().lower()
        if name not in BACKENDS:
            raise BackendUnavailable(f"unknown backend {requested!r}; use one of {', '.join(BACKENDS)}")
        if name != "auto":
            return name
        with self._lock:
            if self._auto is None:
                self._auto = self._probe()
            return self._auto

    def _probe(self) -> str:
        try:
            modules = [self._import(m) for m in _TRT_MODULES]
            stubs = [m.__name__ for m in modules if getattr(m, "__file__", None) is None]
            if stubs:  # tensorrt-stubs alone imports as an empty namespace package
                raise ImportError(f"{', '.join(stubs)} is only type stubs")
        except Exception as exc:  # ImportError, or a broken install raising OSError/RuntimeError
            log.warning("backend auto: TensorRT not usable here (%s); using onnxruntime", exc)
            return "onnxruntime"
        version = tensorrt_version(modules[0])
        problem = version_problem(version)  # JetPack 6.0's TensorRT 8.6 imports but cannot run edge's engines
        if problem is not None:
            log.warning("backend auto: %s; using onnxruntime", problem)
            return "onnxruntime"
        log.warning("backend auto: TensorRT %s found; using tensorrt", version)
        return "tensorrt"


_DEFAULT = BackendResolver()


def resolve_backend(requested: str) -> str:
    """``"auto"`` -> ``"tensorrt"`` or ``"onnxruntime"`` (decided once per process); others as given."""
    return _DEFAULT.resolve(requested)
