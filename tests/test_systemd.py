from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from edge.systemd import Notifier


@pytest.fixture
def listener(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield path, sock
    sock.close()


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda n: n.ready("serving 2 streams"), "READY=1\nSTATUS=serving 2 streams"),
        (lambda n: n.watchdog(), "WATCHDOG=1"),
        (lambda n: n.status("engine 40%"), "STATUS=engine 40%"),
        (lambda n: n.stopping(), "STOPPING=1"),
    ],
)
def test_messages_reach_the_socket(listener, call, expected: str) -> None:  # type: ignore[no-untyped-def]
    path, sock = listener
    n = Notifier({"NOTIFY_SOCKET": path})
    assert call(n) is True
    assert sock.recv(1024).decode() == expected
    n.close()


def test_reloading_says_when_it_began(listener) -> None:  # type: ignore[no-untyped-def]
    path, sock = listener
    n = Notifier({"NOTIFY_SOCKET": path})
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert n.reloading("reloading the config") is True
    lines = sock.recv(1024).decode().splitlines()
    assert lines[0] == "RELOADING=1" and lines[2] == "STATUS=reloading the config"
    assert lines[1].startswith("MONOTONIC_USEC=") and int(lines[1].split("=")[1]) >= before
    n.close()


def test_outside_systemd_is_a_no_op() -> None:
    n = Notifier({})
    assert not n.enabled and n.ready() is False and n.watchdog_interval is None


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "20000000"}, 10.0),  # ping at half the timeout
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "junk"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], interval: float | None) -> None:
    assert Notifier({"NOTIFY_SOCKET": "/nonexistent", **env}).watchdog_interval == interval


def test_unreachable_socket_does_not_raise(tmp_path: Path) -> None:
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready() is False
