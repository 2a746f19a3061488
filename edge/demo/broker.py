"""A local mosquitto for the demo: found, or installed where we may, or explained where we may not."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger("edge.demo")

APT_HINT = "sudo apt-get install -y mosquitto"


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def install_mosquitto() -> str | None:
    """Install mosquitto with apt-get when running as root; None (and why, logged) otherwise."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    log.warning("demo: installing mosquitto with apt-get (one time)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "mosquitto"],
    ):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            log.warning("demo: %s failed: %s", " ".join(cmd[:2]), tail)
            return None
    # Debian starts a system broker on 1883; the demo runs its own on a free port instead.
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "disable", "--now", "mosquitto"], capture_output=True, check=False)
    return find_mosquitto()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalBroker:
    """mosquitto on 127.0.0.1 and a free port, anonymous, no persistence; stopped on exit."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="edge-demo-mqtt-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        conf = self._dir / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        log_path = self._dir / "mosquitto.log"
        with log_path.open("wb") as out:
            self._proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                text = log_path.read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"mosquitto exited: {(text or ['no output'])[-1]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
