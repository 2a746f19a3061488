"""Which TensorRT versions edge runs on, checked where a backend is chosen.

edge uses TensorRT 10 APIs (``IProgressMonitor``, tensor-by-name I/O, ``execute_async_v3``).
JetPack 6.0 ships TensorRT 8.6, which lacks some of them; JetPack 6.1 and 6.2 ship 10.3.
TensorRT 11 removed others (weak typing flags, the INT8 calibrator), so 10.x is the range. The
check reads only ``tensorrt.__version__``, so it works on any TensorRT, before the modules that
subclass TensorRT 10 classes are imported. Nothing here imports TensorRT itself.
"""

from __future__ import annotations

import re
from types import ModuleType

from edge.errors import BackendUnavailable

MIN_MAJOR = 10
# TensorRT 11 removed APIs the builder relies on (BuilderFlag.FP16 and INT8, the INT8
# calibrator, platform_has_fast_fp16/int8): refused in one line rather than failing mid-build.
MAX_MAJOR = 10
# What a Jetson user should install to get TensorRT 10: named in every "too old" message.
UPGRADE_HINT = "JetPack 6.1 or later (TensorRT 10.3)"


class TensorRTTooOld(BackendUnavailable):
    """TensorRT imports, but is older than the version edge's engine code is written for."""


def tensorrt_version(module: ModuleType) -> str:
    """The module's ``__version__``, or ``"unknown"``."""
    return str(getattr(module, "__version__", "") or "unknown")


def major_version(version: str) -> int | None:
    m = re.match(r"\s*(\d+)", version)
    return int(m.group(1)) if m else None


def version_problem(version: str) -> str | None:
    """Why TensorRT ``version`` cannot be used (one line), or None when it can."""
    major = major_version(version)
    if major is None:
        return f"TensorRT reports no usable version ({version!r}); edge needs TensorRT {MIN_MAJOR} or later"
    if major < MIN_MAJOR:
        return f"TensorRT {version} found; edge needs TensorRT {MIN_MAJOR} or later: upgrade to {UPGRADE_HINT}"
    if major > MAX_MAJOR:
        return (
            f"TensorRT {version} found; edge's engine builder is written for TensorRT {MAX_MAJOR}.x"
            " (TensorRT 11 removed BuilderFlag.FP16/INT8 and the INT8 calibrator); install TensorRT 10"
        )
    return None


def require_supported(module: ModuleType) -> str:
    """The version of the imported ``tensorrt`` module; TensorRTTooOld if edge cannot use it."""
    version = tensorrt_version(module)
    problem = version_problem(version)
    if problem is not None:
        raise TensorRTTooOld(problem)
    return version
