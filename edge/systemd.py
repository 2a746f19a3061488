"""sd_notify without libsystemd: readiness, watchdog pings, status text, stopping.

systemd passes ``NOTIFY_SOCKET`` (a unix datagram socket path, or an abstract one starting
with ``@``) and, with ``WatchdogSec=``, ``WATCHDOG_USEC``/``WATCHDOG_PID``. Outside systemd
every call is a no-op, so the daemon runs the same in a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends ``KEY=value`` datagrams to systemd; silent when not run by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + path[1:] if path.startswith("@") else path
        self._sock: socket.socket | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        # The watchdog is ours only if systemd meant this process (WATCHDOG_PID unset or ours).
        mine = not pid or (pid.isdigit() and int(pid) == os.getpid())
        self.watchdog_interval: float | None = int(usec) / 1e6 / 2 if usec.isdigit() and mine else None

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def _send(self, message: str) -> bool:
        if not self._address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode(), self._address)
            return True
        except OSError as exc:  # a lost notification must never take the daemon down
            log.warning("sd_notify failed: %s", exc)
            return False

    def ready(self, status: str = "") -> bool:
        return self._send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text: str) -> bool:
        return self._send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self._send("WATCHDOG=1")

    def reloading(self, status: str = "") -> bool:
        # systemd (253+) wants the moment the reload began with RELOADING=1.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self._send(f"RELOADING=1\nMONOTONIC_USEC={usec}" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self, status: str = "") -> bool:
        return self._send("STOPPING=1" + (f"\nSTATUS={status}" if status else ""))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
