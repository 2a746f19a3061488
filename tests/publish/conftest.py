from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.publish.config import MqttConfig, SpoolConfig
from edge.publish.mqtt import MqttSink
from tests.helpers import ROOT


@pytest.fixture
def make_sink(tmp_path: Path) -> Iterator[Callable[..., MqttSink]]:
    """Build MqttSinks for a port with test-friendly defaults; every one is closed at the end."""
    sinks: list[MqttSink] = []

    def make(port: int, *, spool: SpoolConfig | None = None, **mqtt: Any) -> MqttSink:
        mqtt = {"device_id": "dev1", "keepalive": 5, "reconnect_delay_max": 1, **mqtt}
        sink = MqttSink(
            MqttConfig(host="127.0.0.1", port=port, **mqtt), spool or SpoolConfig(tmp_path / f"spool{len(sinks)}")
        )
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close(timeout=2.0)


class PublisherProcess:
    """tests/publish/publisher_proc.py in its own process, to be SIGKILLed."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.publish.publisher_proc", *args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def read_line(self, timeout: float = 20.0) -> str:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise AssertionError(f"publisher printed nothing within {timeout} s; its log:\n{self.log_text()}")
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            raise AssertionError(f"publisher exited with {self.proc.wait()}; its log:\n{self.log_text()}")
        return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def publisher_process(tmp_path: Path) -> Iterator[Callable[..., PublisherProcess]]:
    procs: list[PublisherProcess] = []

    def start(*args: str) -> PublisherProcess:
        proc = PublisherProcess(tmp_path / f"publisher{len(procs)}.log", *args)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        if proc.proc.stdout:
            proc.proc.stdout.close()
