"""Which OpenCV edge loaded, and whether it can use GStreamer.

On a Jetson the OpenCV that matters is JetPack's (``python3-opencv``, built with GStreamer:
RTSP decodes on ``nvv4l2decoder``, ``csi://`` cameras open through ``nvarguscamerasrc``). A
pip ``opencv-python-headless`` in the venv shadows it and decodes on the CPU through FFmpeg.
The daemon says at start which one it got, and warns on a Jetson when it has no GStreamer.
Nothing here imports cv2 at module level: the probes take it (or an importer) as an argument.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger("edge.opencv")

JETSON_RELEASE = Path("/etc/nv_tegra_release")
# The pip wheels of OpenCV; any of them in the venv hides JetPack's system OpenCV.
PIP_OPENCV = ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless", "opencv-contrib-python")

OPENCV_MISSING = (
    "OpenCV (cv2) is not installed: pip install 'edge[opencv]' (desktop/server), or on a Jetson "
    "sudo apt install python3-opencv and use a venv made with --system-site-packages"
)


@dataclass(frozen=True)
class OpenCVInfo:
    """What ``cv2`` is: where it was loaded from, its version and its video back-ends."""

    path: str
    version: str
    gstreamer: bool
    ffmpeg: bool
    pip_packages: tuple[str, ...] = ()  # pip OpenCV wheels installed where Python looks

    def summary(self) -> str:
        yes = {True: "yes", False: "no"}
        return f"OpenCV {self.version} from {self.path} (GStreamer: {yes[self.gstreamer]}, FFmpeg: {yes[self.ffmpeg]})"


def on_jetson(release: Path = JETSON_RELEASE) -> bool:
    return release.exists()


def video_backends(build_information: str) -> dict[str, bool]:
    """``{"GStreamer": bool, "FFMPEG": bool}`` from ``cv2.getBuildInformation()``'s Video I/O lines
    (``    GStreamer:                   YES (1.20.3)``)."""
    found = {"GStreamer": False, "FFMPEG": False}
    for line in build_information.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep and name in found:
            found[name] = value.strip().upper().startswith("YES")
    return found


def installed_pip_opencv(names: Iterable[str] = PIP_OPENCV) -> tuple[str, ...]:
    """The pip OpenCV wheels installed where this Python looks (the venv, or the system site)."""
    found = []
    for name in names:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found.append(name)
    return tuple(found)


def describe_opencv(cv2: ModuleType, pip_packages: tuple[str, ...] = ()) -> OpenCVInfo:
    backends = video_backends(str(cv2.getBuildInformation()))
    path = str(Path(getattr(cv2, "__file__", "") or "?").parent)
    version = str(getattr(cv2, "__version__", "?"))
    return OpenCVInfo(path, version, backends["GStreamer"], backends["FFMPEG"], pip_packages)


def import_opencv(
    importer: Callable[[str], ModuleType] = importlib.import_module,
    pip_lookup: Callable[[], tuple[str, ...]] = installed_pip_opencv,
) -> tuple[OpenCVInfo | None, str]:
    """The OpenCV Python loads here, or None and why not (its import error's first line)."""
    try:
        cv2 = importer("cv2")
    except ImportError as exc:  # not installed, or built against another NumPy
        lines = str(exc).strip().splitlines()
        return None, lines[0] if lines else type(exc).__name__
    return describe_opencv(cv2, pip_lookup()), ""


def load_opencv(
    importer: Callable[[str], ModuleType] = importlib.import_module,
    pip_lookup: Callable[[], tuple[str, ...]] = installed_pip_opencv,
) -> OpenCVInfo | None:
    return import_opencv(importer, pip_lookup)[0]


def opencv_fix(info: OpenCVInfo | None, jetson: bool, error: str = "") -> str | None:
    """The one line that fixes this OpenCV for edge, or None when it is fine. ``error``: why cv2
    did not import, when it did not."""
    if info is None:
        if "numpy" in error.lower():  # JetPack's OpenCV is built against NumPy 1.x; pip may bring 2.x
            return "pip install 'numpy<2' in edge's venv: this OpenCV was built against NumPy 1.x"
        return OPENCV_MISSING
    if not jetson or info.gstreamer:
        return None
    if info.pip_packages:
        return (
            f"pip uninstall -y {' '.join(info.pip_packages)} in edge's venv (made with --system-site-packages), "
            "so JetPack's OpenCV with GStreamer is used (sudo apt install python3-opencv)"
        )
    return (
        "sudo apt install python3-opencv (JetPack's OpenCV, built with GStreamer) "
        "and use a venv made with --system-site-packages"
    )


def log_opencv_at_start(
    importer: Callable[[str], ModuleType] = importlib.import_module,
    jetson: bool | None = None,
    logger: logging.Logger = log,
) -> OpenCVInfo | None:
    """Log which OpenCV the daemon runs with; warn on a Jetson when it has no GStreamer."""
    info, error = import_opencv(importer)
    jetson = on_jetson() if jetson is None else jetson
    if info is not None:
        logger.info("%s", info.summary())
    fix = opencv_fix(info, jetson, error)
    if fix is not None:
        what = f"no OpenCV ({error})" if info is None else "this OpenCV has no GStreamer"
        logger.warning(
            "%s: on a Jetson RTSP then decodes on the CPU and csi:// cameras cannot open; fix: %s", what, fix
        )
    return info
