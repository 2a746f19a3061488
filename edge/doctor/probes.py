"""One small probe per thing ``edge doctor`` reports. Each takes its inputs (an importer, a
command runner, a path) so tests can stand in a Jetson; none raises: a failure is a finding."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from edge.errors import first_line

Importer = Callable[[str], ModuleType]

JETPACK_WITH_TRT10 = "JetPack 6.1 or later (TensorRT 10.3)"
GST_PACKAGE = "nvidia-l4t-gstreamer"  # JetPack's package with nvv4l2decoder and nvarguscamerasrc


@dataclass(frozen=True)
class Finding:
    """One line of the report; ``fix`` is the one line that solves a problem, None when fine."""

    name: str
    value: str
    fix: str | None = None


def _import(importer: Importer, name: str) -> tuple[ModuleType | None, str]:
    try:
        module = importer(name)
    except Exception as exc:  # ImportError, or a broken install raising OSError/RuntimeError
        return None, first_line(exc)
    if getattr(module, "__file__", None) is None and not hasattr(module, "__version__"):
        return None, f"{name} is only type stubs here"  # tensorrt-stubs imports as an empty namespace
    return module, ""


@dataclass(frozen=True)
class TensorRTInfo:
    version: str | None  # None: not importable
    error: str = ""
    dla_cores: int | None = None

    @property
    def major(self) -> int | None:
        head = (self.version or "").split(".", 1)[0]
        return int(head) if head.isdigit() else None

    @property
    def usable(self) -> bool:
        return self.major is not None and self.major >= 10


def probe_tensorrt(importer: Importer, with_builder: bool = True) -> TensorRTInfo:
    """TensorRT's version; DLA cores only ``with_builder`` (a builder initialises CUDA: without a GPU
    TensorRT would print its own errors)."""
    trt, error = _import(importer, "tensorrt")
    if trt is None:
        return TensorRTInfo(None, error)
    version = str(getattr(trt, "__version__", "?"))
    return TensorRTInfo(version, "", _dla_cores(trt) if with_builder else None)


def _dla_cores(trt: ModuleType) -> int | None:
    """DLA cores TensorRT sees (Jetson AGX/NX have 1-2); None when a builder cannot be made (no GPU)."""
    try:
        builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        return int(builder.num_DLA_cores)
    except Exception:
        return None


@dataclass(frozen=True)
class CudaInfo:
    name: str | None  # None: no device (error says why)
    compute_capability: tuple[int, int] | None = None
    memory_bytes: int | None = None
    pycuda: str | None = None  # pycuda's version; None: not importable
    error: str = ""


def probe_cuda(importer: Importer) -> CudaInfo:
    pycuda, error = _import(importer, "pycuda")
    if pycuda is None:
        return CudaInfo(None, error=error)
    version = str(getattr(pycuda, "VERSION_TEXT", getattr(pycuda, "__version__", "?")))
    try:
        cuda = importer("pycuda.driver")
        cuda.init()
        if cuda.Device.count() < 1:
            return CudaInfo(None, pycuda=version, error="no CUDA device")
        dev = cuda.Device(0)
        major, minor = dev.compute_capability()
        return CudaInfo(str(dev.name()), (int(major), int(minor)), int(dev.total_memory()), version)
    except Exception as exc:  # pycuda.driver.Error carries the CUDA error text
        return CudaInfo(None, pycuda=version, error=first_line(exc))


@dataclass(frozen=True)
class OrtInfo:
    version: str | None
    providers: tuple[str, ...] = ()
    error: str = ""


def probe_onnxruntime(importer: Importer) -> OrtInfo:
    ort, error = _import(importer, "onnxruntime")
    if ort is None:
        return OrtInfo(None, error=error)
    try:
        providers = tuple(str(p) for p in ort.get_available_providers())
    except Exception as exc:
        return OrtInfo(str(getattr(ort, "__version__", "?")), error=first_line(exc))
    return OrtInfo(str(getattr(ort, "__version__", "?")), providers)


def gst_element_exists(name: str, which: Callable[[str], str | None] = shutil.which) -> bool | None:
    """Whether GStreamer has element ``name`` (``gst-inspect-1.0 --exists``); None: cannot tell."""
    tool = which("gst-inspect-1.0")
    if tool is None:
        return None
    try:
        res = subprocess.run([tool, "--exists", name], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.returncode == 0


def probe_gst_element(name: str, exists: bool | None, jetson: bool) -> Finding:
    if exists is None:
        fix = "sudo apt install gstreamer1.0-tools (gst-inspect-1.0)" if jetson else None
        return Finding(f"GStreamer {name}", "unknown: gst-inspect-1.0 is not installed", fix)
    if exists:
        return Finding(f"GStreamer {name}", "yes")
    if jetson:
        return Finding(f"GStreamer {name}", "no", f"sudo apt install {GST_PACKAGE}")
    return Finding(f"GStreamer {name}", "no (a Jetson element)")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def probe_dir(name: str, path: Path, access: Callable[[Path], bool] | None = None) -> Finding:
    """Whether edge can write ``path`` (or create it: its nearest existing parent is writable)."""
    can_write = access or (lambda p: os.access(p, os.W_OK))
    if path.is_dir():
        ok = can_write(path)
        value = f"{path} ({'writable' if ok else 'NOT writable'})"
    else:
        parent = _nearest_existing(path)
        ok = parent.is_dir() and can_write(parent)
        value = f"{path} (not there yet; {'can be created' if ok else 'cannot be created'})"
    make = f"sudo chown $(id -un) {path}" if path.is_dir() else f"sudo install -d -o $(id -un) {path}"
    fix = None if ok else f"{make} (for the service: edge service install)"
    return Finding(name, value, fix)
