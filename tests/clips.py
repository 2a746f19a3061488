"""Demo clips and a real RTSP server for the source, pipeline and daemon tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from edge.demo.broker import free_port
from edge.demo.clip import ClipKind, ClipSpec, cached_clip

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = "/usr/bin/python3"
INSTALL_HINT = "run tools/install_test_deps.sh (apt: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-ugly)"

SMALL = ClipSpec(ClipKind.SHAPES, width=320, height=240, fps=15.0, frames=300, seed=3)


def clip(cache: Path, spec: ClipSpec = SMALL, suffix: str = ".mp4") -> Path:
    return cached_clip(cache, spec, suffix)


class RtspServer:
    """gst-rtsp-server in a child process run by the system Python; stop and start at will."""

    def __init__(self, video: Path, port: int | None = None) -> None:
        self.video = video
        self.port = port or free_port()
        self.uri = f"rtsp://127.0.0.1:{self.port}/clip"
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 10.0) -> None:
        if not Path(SYSTEM_PYTHON).exists() or not shutil.which("gst-launch-1.0"):
            pytest.fail(f"the RTSP tests need {SYSTEM_PYTHON} with GStreamer; {INSTALL_HINT}")
        cmd = [
            SYSTEM_PYTHON,
            str(ROOT / "tests" / "rtsp_server.py"),
            "--port",
            str(self.port),
            "--file",
            str(self.video),
        ]
        deadline = time.monotonic() + timeout
        while True:  # the port may linger for a moment after a stop
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline().strip()
            if line.startswith("READY"):
                return
            rest = line + self._proc.stdout.read() if self._proc.wait(5) is not None else line
            self._proc = None
            if "No module named 'gi'" in rest or "Namespace GstRtspServer not available" in rest:
                pytest.fail(f"the system Python cannot run gst-rtsp-server: {rest.strip()[-200:]}; {INSTALL_HINT}")
            if time.monotonic() > deadline:
                pytest.fail(f"RTSP server did not start: {rest.strip()[-300:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None

    def __enter__(self) -> RtspServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
