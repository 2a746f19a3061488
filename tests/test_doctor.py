"""``edge doctor`` on this machine (no GPU) and with stand-ins for a Jetson: TensorRT 10 and 8.6
modules, pycuda with an Orin, OpenCV builds with and without GStreamer."""

from __future__ import annotations

import shutil
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.cli import main
from edge.config import parse_config
from edge.doctor.probes import Finding, gst_element_exists, probe_dir, probe_gst_element, probe_tensorrt
from edge.doctor.report import Device, device_findings, gather, model_findings, render
from tests.test_opencv_info import JETPACK_BUILD, PIP_BUILD, fake_cv2

MODEL = Path(__file__).resolve().parent / "fixtures" / "models" / "shapes-detect.onnx"
ORIN = ("Orin", (8, 7), 7 * 2**30)


def _module(name: str, **attrs: object) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__file__ = f"/stand-in/{name.replace('.', '/')}.py"
    for key, value in attrs.items():
        setattr(m, key, value)
    return m


def fake_trt(version: str, dla: int | None = 2) -> types.ModuleType:
    class Logger:
        ERROR = 1

        def __init__(self, severity: int) -> None:
            self.severity = severity

    class Builder:
        def __init__(self, logger: Logger) -> None:
            if dla is None:
                raise RuntimeError("CUDA initialization failure with error: 35")  # what a GPU-less builder says
            self.num_DLA_cores = dla

    return _module("tensorrt", __version__=version, Logger=Logger, Builder=Builder)


def fake_pycuda(device: tuple[str, tuple[int, int], int] | None) -> dict[str, types.ModuleType]:
    class Device:
        def __init__(self, index: int) -> None:
            assert device is not None and index == 0

        @staticmethod
        def count() -> int:
            return 0 if device is None else 1

        def name(self) -> str:
            return device[0]  # type: ignore[index]

        def compute_capability(self) -> tuple[int, int]:
            return device[1]  # type: ignore[index]

        def total_memory(self) -> int:
            return device[2]  # type: ignore[index]

    driver = _module("pycuda.driver", init=lambda: None, Device=Device)
    return {"pycuda": _module("pycuda", VERSION_TEXT="2024.1.2"), "pycuda.driver": driver}


def importer(modules: dict[str, types.ModuleType]) -> Callable[[str], types.ModuleType]:
    def imp(name: str) -> types.ModuleType:
        if name not in modules:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return modules[name]

    return imp


def jetson(
    trt_version: str | None = "10.3.0",
    build: str = JETPACK_BUILD,
    gst: bool | None = True,
    pip_opencv: tuple[str, ...] = (),
    device: tuple[str, tuple[int, int], int] | None = ORIN,
) -> Device:
    ort = _module("onnxruntime", __version__="1.20.1", get_available_providers=lambda: ["CPUExecutionProvider"])
    modules = {"onnxruntime": ort, "cv2": fake_cv2(build), **fake_pycuda(device)}
    if trt_version is not None:
        modules["tensorrt"] = fake_trt(trt_version)
    return gather(importer(modules), jetson=True, gst_exists=lambda name: gst, pip_opencv=lambda: pip_opencv)


def _by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {f.name: f for f in findings}


def _findings(device: Device, tmp_path: Path) -> dict[str, Finding]:
    return _by_name(device_findings(device, tmp_path / "state", tmp_path / "engines"))


def _config(tmp_path: Path, backend: str) -> Path:
    path = tmp_path / f"{backend}.yaml"
    path.write_text(
        f"models: {{detect: {{path: {MODEL}, backend: {backend}}}}}\n"
        f"streams: {{door: {{uri: {tmp_path / 'door.mp4'}, models: [detect]}}}}\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    return path


def test_a_jetson_with_tensorrt_10_and_jetpack_s_opencv_has_nothing_to_fix(tmp_path: Path) -> None:
    found = _findings(jetson(), tmp_path)
    assert [f"{f.name}: {f.fix}" for f in found.values() if f.fix] == []
    assert found["TensorRT"].value == "10.3.0 (10 or later: yes)"
    assert found["CUDA device"].value == "Orin, compute capability 8.7, 7.0 GiB"
    assert found["DLA cores"].value == "2"
    assert found["pycuda"].value == "2024.1.2"
    assert "GStreamer: yes" in found["OpenCV"].value and "/usr/lib/python3/dist-packages/cv2" in found["OpenCV"].value
    assert found["GStreamer nvv4l2decoder"].value == "yes"


@pytest.mark.parametrize(
    ("device", "name", "value", "fix"),
    [
        (jetson(trt_version="8.6.2"), "TensorRT", "8.6.2 (10 or later: no)", "upgrade to JetPack 6.1 or later"),
        (jetson(trt_version=None), "TensorRT", "not installed", "python3-libnvinfer"),
        (
            jetson(build=PIP_BUILD, pip_opencv=("opencv-python-headless",)),
            "OpenCV",
            "GStreamer: no",
            "pip uninstall -y",
        ),
        (jetson(build=PIP_BUILD), "OpenCV", "GStreamer: no", "sudo apt install python3-opencv"),
        (jetson(gst=False), "GStreamer nvarguscamerasrc", "no", "sudo apt install nvidia-l4t-gstreamer"),
        (jetson(gst=None), "GStreamer nvv4l2decoder", "unknown", "gstreamer1.0-tools"),
        (jetson(device=None), "CUDA device", "none (no CUDA device)", "NVIDIA driver"),
    ],
)
def test_each_jetson_problem_comes_with_its_fix(
    tmp_path: Path, device: Device, name: str, value: str, fix: str
) -> None:
    finding = _findings(device, tmp_path)[name]
    assert value in finding.value
    assert finding.fix is not None and fix in finding.fix and "\n" not in finding.fix
    assert f"fix: {finding.fix}" in render([finding])


@pytest.mark.parametrize(
    ("device", "backend", "ok", "says"),
    [
        (jetson(), "tensorrt", True, "runs on tensorrt"),
        (jetson(), "auto", True, "runs on tensorrt"),
        (jetson(trt_version="8.6.2"), "tensorrt", False, "TensorRT 8.6.2 is older than 10"),
        (jetson(trt_version="8.6.2"), "auto", True, "runs on onnxruntime (TensorRT 8.6.2 is older than 10)"),
        (jetson(trt_version="8.6.2"), "onnxruntime", True, "runs on onnxruntime"),
        (jetson(device=None), "tensorrt", False, "no CUDA device"),
    ],
)
def test_each_model_says_where_it_runs_or_why_it_cannot(
    tmp_path: Path, device: Device, backend: str, ok: bool, says: str
) -> None:
    path = _config(tmp_path, backend)
    findings, all_ok = model_findings(parse_config(path.read_text(), path), device)
    assert all_ok is ok
    assert says in findings[0].value
    assert (findings[0].fix is None) is ok


def test_an_opencv_built_for_another_numpy_is_named_with_its_fix(tmp_path: Path) -> None:
    def imp(name: str) -> types.ModuleType:
        if name == "cv2":  # what JetPack's cv2 raises when the venv has NumPy 2
            raise ImportError("numpy.core.multiarray failed to import")
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    found = _findings(gather(imp, jetson=True, gst_exists=lambda name: True, pip_opencv=lambda: ()), tmp_path)
    assert found["OpenCV"].value == "cannot import cv2 (numpy.core.multiarray failed to import)"
    assert found["OpenCV"].fix == "pip install 'numpy<2' in edge's venv: this OpenCV was built against NumPy 1.x"


def test_dla_cores_unknown_without_a_gpu_builder(tmp_path: Path) -> None:
    info = probe_tensorrt(importer({"tensorrt": fake_trt("10.3.0", dla=None)}))
    assert (info.version, info.usable, info.dla_cores) == ("10.3.0", True, None)
    # No CUDA device: no builder is made at all (TensorRT would print its own CUDA errors).
    assert _findings(jetson(device=None), tmp_path)["DLA cores"].value == "unknown (needs TensorRT and a GPU)"


@pytest.mark.parametrize(
    ("exists", "jetson_here", "value", "has_fix"),
    [(True, True, "yes", False), (False, False, "no (a Jetson element)", False), (False, True, "no", True)],
)
def test_gstreamer_elements_matter_on_a_jetson_only(exists: bool, jetson_here: bool, value: str, has_fix: bool) -> None:
    f = probe_gst_element("nvv4l2decoder", exists, jetson_here)
    assert (f.value, f.fix is not None) == (value, has_fix)


@pytest.mark.parametrize(
    ("make", "writable", "value", "fix"),
    [
        ("dir", True, "(writable)", None),
        ("dir", False, "(NOT writable)", "sudo chown $(id -un)"),
        ("missing", True, "(not there yet; can be created)", None),
        ("missing", False, "(not there yet; cannot be created)", "sudo install -d -o $(id -un)"),
    ],
)
def test_directories_are_checked_for_writing(
    tmp_path: Path, make: str, writable: bool, value: str, fix: str | None
) -> None:
    path = tmp_path / "state"
    if make == "dir":
        path.mkdir()
    f = probe_dir("state directory", path if make == "dir" else path / "sub", access=lambda p: writable)
    assert value in f.value
    assert (f.fix is None) if fix is None else (f.fix is not None and fix in f.fix)


def test_this_machine_without_a_gpu_runs_an_onnxruntime_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--config", str(_config(tmp_path, "onnxruntime"))]) == 0
    out = capsys.readouterr().out
    assert "model detect" in out and "runs on onnxruntime" in out
    for name in ("Python", "edge", "ONNX Runtime", "TensorRT", "pycuda", "CUDA device", "DLA cores", "OpenCV"):
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    assert "CPUExecutionProvider" in out


def test_this_machine_without_a_gpu_cannot_run_a_tensorrt_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--config", str(_config(tmp_path, "tensorrt"))]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("model detect"))
    assert "backend tensorrt: CANNOT RUN" in line
    assert "a configured backend cannot run here" in out


def test_without_a_config_doctor_reports_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    cuda = next(line for line in out.splitlines() if line.startswith("CUDA device"))
    # No GPU here: doctor says so, and what it means. (With one, it names its compute capability.)
    assert "TensorRT models cannot run here" in cuda or "compute capability" in cuda
    assert "model " not in out


def test_a_broken_config_is_reported_like_edge_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: {detect: {path: /nope.onnx}}\nstreams: {door: {uri: x.mp4, models: [detect]}}\n")
    assert main(["doctor", "--config", str(bad)]) == 2
    assert "models.detect.path: no such file" in capsys.readouterr().err


@pytest.mark.skipif(
    shutil.which("gst-inspect-1.0") is None, reason="gst-inspect-1.0 not installed (gstreamer1.0-tools)"
)
@pytest.mark.parametrize(("element", "exists"), [("videotestsrc", True), ("no-such-element-here", False)])
def test_gst_inspect_answers_for_real_elements(element: str, exists: bool) -> None:
    assert gst_element_exists(element) is exists


def test_without_gst_inspect_an_element_is_unknown() -> None:
    assert gst_element_exists("videotestsrc", which=lambda name: None) is None


@pytest.mark.parametrize(
    ("built", "env", "value", "has_fix"),
    [
        (True, None, "compiled", False),
        (False, "0", "turned off by EDGE_NATIVE=0", False),
        (False, None, "not built", True),
    ],
)
def test_the_mask_kernel_says_whether_it_is_compiled(
    monkeypatch: pytest.MonkeyPatch, built: bool, env: str | None, value: str, has_fix: bool
) -> None:
    from edge.doctor.report import mask_kernel_finding
    from edge.tasks import native

    if not built:
        monkeypatch.setattr(native, "_NATIVE", None)
    if env is None:
        monkeypatch.delenv("EDGE_NATIVE", raising=False)
    else:
        monkeypatch.setenv("EDGE_NATIVE", env)
    f = mask_kernel_finding()
    assert value in f.value
    assert (f.fix is not None and "python3-dev" in f.fix) if has_fix else f.fix is None
