"""`edge run` as a child process, as a user (or systemd) runs it, with a config written for the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import ROOT


def write_config(
    path: Path,
    streams: dict[str, dict[str, Any]],
    models: dict[str, Path],
    port: int | None,
    state: Path,
    **mqtt: Any,
) -> Path:
    doc: dict[str, Any] = {
        "models": {name: {"path": str(p)} for name, p in models.items()},
        "streams": streams,
        "state_dir": str(state),
    }
    if port is not None:
        doc["mqtt"] = {"host": "127.0.0.1", "port": port, "device_id": "dev1", "keepalive": 5, **mqtt}
        doc["mqtt"].setdefault("reconnect_delay_max", 1)
    path.write_text(json.dumps(doc, indent=2))  # JSON is YAML
    return path


class EdgeRun:
    """``edge run --config CONFIG`` in its own process; stderr goes to ``log``."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log = log
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge", "run", "--config", str(config), *args],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"edge run did not exit within {timeout} s:\n{self.stderr()[-2000:]}") from None

    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> EdgeRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
