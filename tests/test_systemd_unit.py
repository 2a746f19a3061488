"""The units parse cleanly with systemd's own checker and keep their hardening score: the shipped
default and the one ``edge service install`` writes for this venv."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.cli import main

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "edge.service"
# `systemd-analyze security` exposure (0 best, 10 worst) of the unit as shipped in 2026-11.
MAX_EXPOSURE = 2.2

needs_analyzer = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (Debian package systemd; tools/install_test_deps.sh installs it)",
)


def _installed_unit(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    assert main(["service", "install", "--root", str(root)]) == 0
    return root / "etc" / "systemd" / "system" / "edge.service"


def _shipped_unit(tmp_path: Path) -> Path:
    # Point the commands at an executable that exists here; the checker insists on it.
    unit = tmp_path / "edge.service"
    unit.write_text(UNIT.read_text().replace("/opt/edge/.venv/bin/edge", "/bin/true"))
    return unit


def _verify(unit: Path) -> list[str]:
    res = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    return [line for line in res.stderr.splitlines() if str(unit) in line or "edge.service" in line]


def _exposure(unit: Path) -> float:
    res = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for edge\.service: (\d+\.\d+)", res.stdout + res.stderr)
    assert found, res.stdout + res.stderr
    return float(found.group(1))


@needs_analyzer
@pytest.mark.parametrize("make", [_shipped_unit, _installed_unit], ids=["shipped", "installed"])
def test_unit_verifies(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    assert _verify(make(tmp_path)) == []


@needs_analyzer
@pytest.mark.parametrize("make", [_shipped_unit, _installed_unit], ids=["shipped", "installed"])
def test_hardening_score_does_not_get_worse(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    assert _exposure(make(tmp_path)) <= MAX_EXPOSURE


@pytest.mark.parametrize(
    "line", ["Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ExecReload=/bin/kill -HUP"]
)
def test_unit_is_notify_watchdog_and_hardened(line: str) -> None:
    assert any(row.startswith(line) for row in UNIT.read_text().splitlines())
