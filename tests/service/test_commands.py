"""``edge service install`` / ``uninstall`` through the CLI, writing under ``--root``."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

import pytest

from edge.cli import main

UNIT = Path("etc/systemd/system/edge.service")
CONFIG = Path("etc/edge/edge.yaml")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_dry_run_prints_every_action_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "install", "--dry-run", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    done = [line for line in out.splitlines() if line.startswith("would ")]
    assert [line.split(" (")[0] for line in done if "directory" in line or "write" in line] == [
        "would create directory /etc/edge",
        "would create directory /etc/edge/credentials",
        "would create directory /var/lib/edge",
        "would write /etc/edge/edge.yaml",
        "would write /etc/systemd/system/edge.service",
    ]
    assert done[-1] == "would run systemctl daemon-reload"
    if not _user_exists("edge"):
        assert done[0].startswith("would run useradd --system --user-group")
    assert "systemctl enable --now edge" in out
    assert _files(tmp_path) == []


def test_install_under_a_root_writes_the_unit_for_this_venv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "install", "--root", str(tmp_path)]) == 0
    unit = (tmp_path / UNIT).read_text()
    edge = Path(sys.prefix) / "bin" / "edge"
    assert f"ExecStart={edge} run --config /etc/edge/edge.yaml" in unit
    assert "LoadCredential=" not in unit  # the example config names no credential
    assert (tmp_path / CONFIG).stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "etc/edge/credentials").stat().st_mode & 0o777 == 0o700
    out = capsys.readouterr().out
    assert "skip (--root) run systemctl daemon-reload" in out


def test_a_second_install_keeps_the_config_and_lists_its_missing_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = "mqtt: {host: broker, password: {credential: mqtt-password}}\n"
    (tmp_path / CONFIG).parent.mkdir(parents=True)
    (tmp_path / CONFIG).write_text(mine)
    assert main(["service", "install", "--root", str(tmp_path)]) == 0
    assert (tmp_path / CONFIG).read_text() == mine
    assert "LoadCredential=mqtt-password:/etc/edge/credentials/mqtt-password" in (tmp_path / UNIT).read_text()
    out = capsys.readouterr().out
    assert "/etc/edge/edge.yaml" not in [line.split(" (")[0].removeprefix("write ") for line in out.splitlines()]
    assert "> /etc/edge/credentials/mqtt-password && chmod 0600" in out


@pytest.mark.parametrize(("purge", "left"), [(False, ["etc/edge", "var/lib/edge"]), (True, [])])
def test_uninstall_keeps_config_and_state_unless_purge(tmp_path: Path, purge: bool, left: list[str]) -> None:
    assert main(["service", "install", "--root", str(tmp_path)]) == 0
    (tmp_path / "var/lib/edge/spool").mkdir()
    assert main(["service", "uninstall", "--root", str(tmp_path), *(["--purge"] if purge else [])]) == 0
    assert not (tmp_path / UNIT).exists()
    assert [p for p in ("etc/edge", "var/lib/edge") if (tmp_path / p).exists()] == left


def test_the_live_system_needs_root(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["service", "install"]) == 2
    assert (
        capsys.readouterr().err.strip() == "edge: error: edge service install changes the system: run it as root (sudo)"
    )
