"""What ``edge doctor`` gathers, and the report it prints: findings, then the configured models."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge import __version__
from edge.config import EdgeConfig
from edge.doctor.probes import (
    JETPACK_WITH_TRT10,
    CudaInfo,
    Finding,
    Importer,
    OrtInfo,
    TensorRTInfo,
    gst_element_exists,
    probe_cuda,
    probe_dir,
    probe_gst_element,
    probe_onnxruntime,
    probe_tensorrt,
)
from edge.opencv_info import OpenCVInfo, import_opencv, installed_pip_opencv, on_jetson, opencv_fix
from edge.tasks import native

GST_ELEMENTS = ("nvv4l2decoder", "nvarguscamerasrc")


@dataclass(frozen=True)
class Device:
    """Everything the probes found on this machine."""

    jetson: bool
    ort: OrtInfo
    trt: TensorRTInfo
    cuda: CudaInfo
    opencv: OpenCVInfo | None
    gst: dict[str, bool | None]
    opencv_error: str = ""  # why cv2 did not import

    @property
    def extra(self) -> str:
        return "edge[jetson]" if self.jetson else "edge[cpu]"


def gather(
    importer: Importer = importlib.import_module,
    jetson: bool | None = None,
    gst_exists: Callable[[str], bool | None] = gst_element_exists,
    pip_opencv: Callable[[], tuple[str, ...]] = installed_pip_opencv,
) -> Device:
    jetson = on_jetson() if jetson is None else jetson
    opencv, opencv_error = import_opencv(importer, pip_opencv)
    cuda = probe_cuda(importer)
    return Device(
        jetson,
        probe_onnxruntime(importer),
        probe_tensorrt(importer, with_builder=cuda.name is not None),
        cuda,
        opencv,
        {name: gst_exists(name) for name in GST_ELEMENTS},
        opencv_error,
    )


def onnxruntime_problem(d: Device) -> tuple[str, str] | None:
    """(what is wrong, the fix), or None when ONNX Runtime models can run."""
    if d.ort.version is None:
        return f"ONNX Runtime is not installed ({d.ort.error})", f"pip install '{d.extra}'"
    return None


def tensorrt_problem(d: Device) -> tuple[str, str] | None:
    """(what is wrong, the fix), or None when TensorRT models can run here."""
    if d.trt.version is None:
        return f"TensorRT is not installed ({d.trt.error})", (
            f"on a Jetson: {JETPACK_WITH_TRT10}, python3-libnvinfer, a venv made with --system-site-packages"
        )
    if not d.trt.usable:
        return f"TensorRT {d.trt.version} is older than 10", f"upgrade to {JETPACK_WITH_TRT10}"
    if d.cuda.pycuda is None:
        return f"pycuda is not installed ({d.cuda.error})", f"pip install '{d.extra}'"
    if d.cuda.name is None:
        return f"no CUDA device ({d.cuda.error})", "run on an NVIDIA GPU (Jetson), or use backend onnxruntime"
    return None


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def _runtime_findings(d: Device) -> list[Finding]:
    ort = d.ort
    ort_value = f"{ort.version}, providers: {', '.join(ort.providers) or 'none'}" if ort.version else "not installed"
    trt = d.trt
    trt_value = f"{trt.version} (10 or later: {'yes' if trt.usable else 'no'})" if trt.version else "not installed"
    # Off a Jetson, no TensorRT is normal (ONNX Runtime runs the models); an old one is a problem anywhere.
    trt_fix = tensorrt_problem(d) if (trt.version is None and d.jetson) or (trt.version and not trt.usable) else None
    c = d.cuda
    cuda_value = (
        f"{c.name}, compute capability {c.compute_capability[0]}.{c.compute_capability[1]}, {_gib(c.memory_bytes)}"
        if c.name and c.compute_capability and c.memory_bytes is not None
        else f"none ({c.error or 'no NVIDIA GPU'}): TensorRT models cannot run here"
    )
    problem = onnxruntime_problem(d)
    no_gpu_fix = "check the NVIDIA driver: dmesg | grep -i nv" if d.jetson and c.pycuda and not c.name else None
    return [
        Finding("ONNX Runtime", ort_value, problem[1] if problem else None),
        Finding("TensorRT", trt_value, trt_fix[1] if trt_fix else None),
        Finding(
            "pycuda",
            c.pycuda or "not installed",
            f"pip install '{d.extra}'" if d.jetson and c.pycuda is None else None,
        ),
        Finding("CUDA device", cuda_value, no_gpu_fix),
        Finding("DLA cores", "unknown (needs TensorRT and a GPU)" if trt.dla_cores is None else str(trt.dla_cores)),
    ]


def device_findings(d: Device, state_dir: Path, engines_dir: Path) -> list[Finding]:
    findings = [
        Finding("Python", f"{sys.version.split()[0]} ({sys.executable})"),
        Finding("edge", __version__),
        Finding("Jetson", "yes (/etc/nv_tegra_release)" if d.jetson else "no"),
        *_runtime_findings(d),
        Finding(
            "OpenCV",
            d.opencv.summary() if d.opencv else f"cannot import cv2 ({d.opencv_error})",
            opencv_fix(d.opencv, d.jetson, d.opencv_error),
        ),
        *(probe_gst_element(name, d.gst[name], d.jetson) for name in GST_ELEMENTS),
        mask_kernel_finding(),
        probe_dir("state directory", state_dir),
        probe_dir("engine directory", engines_dir),
    ]
    return findings


def mask_kernel_finding() -> Finding:
    """Whether instance masks and outlines' JSON go through edge/tasks/_native.c (docs/masks.md)."""
    if native.available():
        return Finding("mask kernel", "compiled (edge.tasks._native)")
    if os.environ.get("EDGE_NATIVE") == "0":
        return Finding("mask kernel", "turned off by EDGE_NATIVE=0: numpy path (same masks, more CPU)")
    return Finding(
        "mask kernel",
        "not built: numpy path (same masks, 1.5 to 3 times the CPU in crowded segmentation)",
        "apt install build-essential python3-dev, then pip install the edge package again",
    )


def model_findings(config: EdgeConfig, d: Device) -> tuple[list[Finding], bool]:
    """One finding per configured model: the backend it will run on, or why it cannot. The bool:
    every model can run."""
    ort, trt = onnxruntime_problem(d), tensorrt_problem(d)
    findings: list[Finding] = []
    ok = True
    for m in config.models.values():
        if m.backend == "auto":
            chosen, problem = ("tensorrt", None) if trt is None else ("onnxruntime", ort)
        else:
            chosen, problem = m.backend, (trt if m.backend == "tensorrt" else ort)
        if problem is None:
            why = f" ({trt[0]})" if m.backend == "auto" and trt is not None else ""
            findings.append(Finding(f"model {m.name}", f"backend {m.backend}: runs on {chosen}{why}"))
        else:
            ok = False
            findings.append(Finding(f"model {m.name}", f"backend {m.backend}: CANNOT RUN: {problem[0]}", problem[1]))
    return findings, ok


def render(findings: Sequence[Finding]) -> str:
    width = max((len(f.name) for f in findings), default=0)
    lines = []
    for f in findings:
        lines.append(f"{f.name:<{width}}  {f.value}")
        if f.fix:
            lines.append(f"{'':<{width}}  fix: {f.fix}")
    return "\n".join(lines)
