"""The device an engine is built for: TensorRT version, GPU name and compute capability."""

from __future__ import annotations

import importlib
from types import ModuleType

from edge.engines.key import DeviceInfo
from edge.engines.trt_version import require_supported
from edge.errors import BackendUnavailable


def _require(name: str) -> ModuleType:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise BackendUnavailable(
            f"TensorRT engines need {exc.name or name}; install it with: pip install 'edge[tensorrt]'"
        ) from None
    if getattr(module, "__file__", None) is None:
        # A folder of type stubs (tensorrt-stubs) imports as an empty namespace package.
        raise BackendUnavailable(
            f"{name} is only type stubs here; install the real package: pip install 'edge[tensorrt]'"
        )
    return module


def detect_device(index: int = 0) -> DeviceInfo:
    """Ask TensorRT and CUDA (through pycuda) what this machine has; BackendUnavailable if either
    is missing or no GPU answers; TensorRTTooOld for TensorRT before 10 (JetPack 6.0)."""
    trt = _require("tensorrt")
    version = require_supported(trt)
    cuda = _require("pycuda.driver")
    try:
        cuda.init()
        dev = cuda.Device(index)
        name = str(dev.name())
        major, minor = dev.compute_capability()
    except Exception as exc:  # pycuda.driver.Error and friends carry the CUDA error text
        raise BackendUnavailable(f"no usable CUDA device {index}: {exc}") from None
    return DeviceInfo(version, name, (int(major), int(minor)))
