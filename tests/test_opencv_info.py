"""Which OpenCV is loaded, whether it has GStreamer, the Jetson warning, and a missing cv2."""

from __future__ import annotations

import logging
import subprocess
import sys
import types
from pathlib import Path

import pytest

from edge.opencv_info import OPENCV_MISSING, OpenCVInfo, log_opencv_at_start, opencv_fix, video_backends

ROOT = Path(__file__).resolve().parents[1]

# Trimmed from cv2.getBuildInformation(): JetPack 6's python3-opencv, and the pip wheel.
JETPACK_BUILD = """
  Video I/O:
    DC1394:                      NO
    FFMPEG:                      YES
      avcodec:                   YES (58.134.100)
    GStreamer:                   YES (1.20.3)
    v4l/v4l2:                    YES (linux/videodev2.h)
"""
PIP_BUILD = """
  Video I/O:
    DC1394:                      NO
    FFMPEG:                      YES
      avcodec:                   YES (59.37.100)
    GStreamer:                   NO
    v4l/v4l2:                    YES (linux/videodev2.h)
"""
NO_VIDEO_BUILD = "  Video I/O:\n    v4l/v4l2: YES\n"


def fake_cv2(build: str, file: str = "/usr/lib/python3/dist-packages/cv2/__init__.py") -> types.ModuleType:
    cv2 = types.ModuleType("cv2")
    cv2.__file__ = file
    cv2.__version__ = "4.8.0"  # type: ignore[attr-defined]
    cv2.getBuildInformation = lambda: build  # type: ignore[attr-defined]
    return cv2


@pytest.mark.parametrize(
    ("build", "gstreamer", "ffmpeg"),
    [(JETPACK_BUILD, True, True), (PIP_BUILD, False, True), (NO_VIDEO_BUILD, False, False)],
)
def test_video_backends_from_the_build_report(build: str, gstreamer: bool, ffmpeg: bool) -> None:
    assert video_backends(build) == {"GStreamer": gstreamer, "FFMPEG": ffmpeg}


JETPACK = OpenCVInfo("/usr/lib/python3/dist-packages/cv2", "4.8.0", True, True)
PIP_IN_VENV = OpenCVInfo(
    "/opt/edge/.venv/lib/python3.10/site-packages/cv2", "4.10.0", False, True, ("opencv-python-headless",)
)


@pytest.mark.parametrize(
    ("info", "jetson", "fix_mentions"),
    [
        (JETPACK, True, None),
        (PIP_IN_VENV, False, None),  # a desktop: FFmpeg is what it has
        (PIP_IN_VENV, True, "pip uninstall -y opencv-python-headless"),
        (OpenCVInfo("/x/cv2", "4.5.4", False, True), True, "sudo apt install python3-opencv"),
        (None, False, "pip install 'edge[opencv]'"),
    ],
)
def test_the_fix_for_each_opencv(info: OpenCVInfo | None, jetson: bool, fix_mentions: str | None) -> None:
    fix = opencv_fix(info, jetson)
    if fix_mentions is None:
        assert fix is None
    else:
        assert fix is not None and fix_mentions in fix and "\n" not in fix


def _importer(module: types.ModuleType | None):  # type: ignore[no-untyped-def]
    def imp(name: str) -> types.ModuleType:
        if module is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return module

    return imp


def test_start_log_names_the_opencv_and_warns_on_a_jetson_without_gstreamer(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("edge.opencv.test")
    with caplog.at_level(logging.INFO, logger="edge.opencv.test"):
        info = log_opencv_at_start(_importer(fake_cv2(PIP_BUILD, "/v/site-packages/cv2/__init__.py")), True, logger)
    assert info is not None and not info.gstreamer
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert messages[0] == (logging.INFO, "OpenCV 4.8.0 from /v/site-packages/cv2 (GStreamer: no, FFmpeg: yes)")
    assert messages[1][0] == logging.WARNING and "no GStreamer" in messages[1][1]


@pytest.mark.parametrize(("build", "jetson"), [(JETPACK_BUILD, True), (PIP_BUILD, False)])
def test_no_warning_where_the_opencv_fits(caplog: pytest.LogCaptureFixture, build: str, jetson: bool) -> None:
    logger = logging.getLogger("edge.opencv.test")
    with caplog.at_level(logging.INFO, logger="edge.opencv.test"):
        log_opencv_at_start(_importer(fake_cv2(build)), jetson, logger)
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_no_opencv_at_all_is_a_warning_naming_what_to_install(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("edge.opencv.test")
    with caplog.at_level(logging.INFO, logger="edge.opencv.test"):
        assert log_opencv_at_start(_importer(None), False, logger) is None
    assert len(caplog.records) == 1 and OPENCV_MISSING in caplog.records[0].getMessage()


def test_a_missing_cv2_is_a_one_line_error_naming_the_extra(tmp_path: Path) -> None:
    image = ROOT / "examples" / "images" / "shapes.jpg"
    model = ROOT / "tests" / "fixtures" / "models" / "shapes-detect.onnx"
    code = (
        "import sys; sys.modules['cv2'] = None\n"  # what Python does when no OpenCV is installed
        "from edge.cli import main\n"
        f"sys.exit(main(['infer', '--model', {str(model)!r}, {str(image)!r}]))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == f"edge: error: {OPENCV_MISSING}"
