"""The unit file parses cleanly with systemd's own checker."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "edge.service"


def test_unit_verifies(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed: cannot verify systemd/edge.service here")
    # Point the commands at an executable that exists here; the checker insists on it.
    text = UNIT.read_text().replace("/opt/edge/.venv/bin/edge", "/bin/true")
    unit = tmp_path / "edge.service"
    unit.write_text(text)
    res = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in res.stderr.splitlines() if str(unit) in line or "edge.service" in line]
    assert problems == [], problems


@pytest.mark.parametrize(
    "line", ["Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ExecReload=/bin/kill -HUP"]
)
def test_unit_is_notify_watchdog_and_hardened(line: str) -> None:
    assert any(row.startswith(line) for row in UNIT.read_text().splitlines())
