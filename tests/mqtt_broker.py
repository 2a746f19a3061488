"""A real mosquitto broker and a real paho subscriber for tests.

    broker = Broker(tmp_path).start()         # a free port on 127.0.0.1, persistence on
    with Subscriber(broker.port, ["edge/#"]).start() as sub:
        ...
        sub.wait_for(lambda msgs: len(msgs) >= 3, what="three messages")
    broker.kill(); broker.start()             # same port, retained messages kept
    broker.close()                            # always: kills it if it still runs

Nothing is skipped: without mosquitto the test fails and says how to install it.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

INSTALL_HINT = "run tools/install_test_deps.sh (Debian/Ubuntu: apt-get install mosquitto)"


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None)
    if found is None:
        pytest.fail(f"the MQTT tests need a mosquitto broker and none is installed: {INSTALL_HINT}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_files(directory: Path, name: str = "test") -> TlsFiles:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate (EC P-256)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS test needs the openssl command: apt-get install openssl")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", f"/CN={name}-ca")
    for who, ext in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        run("req", *ec, "-keyout", f"{who}.key", "-out", f"{who}.csr", "-subj", f"/CN={name}-{who}")
        (d / f"{who}.ext").write_text(ext + "\n")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{who}.crt", "-days", "2", "-extfile", f"{who}.ext")  # fmt: skip
    return TlsFiles(d / "ca.crt", d / "server.crt", d / "server.key", d / "client.crt", d / "client.key")


def make_password_file(path: Path, username: str, password: str) -> Path:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail(f"mosquitto_passwd is missing: {INSTALL_HINT}")
    path.unlink(missing_ok=True)
    subprocess.run([tool, "-c", "-b", str(path), username, password], check=True, capture_output=True)
    return path


class Broker:
    """One mosquitto process on a fixed port that can be stopped, killed and started again."""

    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        persistence: bool = True,
        tls: TlsFiles | None = None,
        require_certificate: bool = False,
        password_file: Path | None = None,
    ) -> None:
        self.binary = mosquitto_binary()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.config_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        lines = [f"listener {self.port} {self.host}", f"allow_anonymous {'false' if password_file else 'true'}"]
        if password_file:
            lines.append(f"password_file {password_file}")
        if tls:
            lines += [f"cafile {tls.ca}", f"certfile {tls.server_cert}", f"keyfile {tls.server_key}"]
            lines.append(f"require_certificate {'true' if require_certificate else 'false'}")
        if persistence:  # retained messages and sessions survive a restart (saved every second)
            data = self.workdir / "data"
            data.mkdir(exist_ok=True)
            lines += ["persistence true", f"persistence_location {data}/", "autosave_interval 1"]
        # Started as root, mosquitto switches to the user "mosquitto", who cannot write here.
        lines += [f"user {getpass.getuser()}", "max_queued_messages 100000", "max_inflight_messages 100"]
        lines.append("queue_qos0_messages true")  # a persistent subscriber also gets QoS 0 sent while it was away
        self.config_path.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> Broker:
        """Start it (again, on the same port) and wait until it accepts connections."""
        if self.running:
            return self
        with open(self.log_path, "ab") as logf:
            self._proc = subprocess.Popen([self.binary, "-c", str(self.config_path)], stdout=logf, stderr=logf)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout} s:\n{self.log_tail()}")

    def wait_saved(self, timeout: float = 10.0) -> None:
        """Wait for mosquitto's next save of its state (sessions, queues) after this call.

        It saves every ``autosave_interval`` second, but on a loaded machine a save can come
        late; a SIGKILL before it loses the sessions made since. mosquitto writes a new file
        and renames it over the old, so a newer modification time means a whole save.
        """
        db = self.workdir / "data" / "mosquitto.db"
        since = time.time()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if db.stat().st_mtime > since:
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"mosquitto did not save its state within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: mosquitto sends the last wills of connected clients and saves its state."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: the broker vanishes; what it had not saved is lost, no last will is sent."""
        self._end(signal.SIGKILL, 10.0)

    def restart(self) -> Broker:
        self.stop()
        return self.start()

    def close(self) -> None:
        if self.running:
            self.kill()

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")


class Subscriber:
    """A paho client that records every message on ``topics``; reconnects by itself.

    ``session``: a client id for a persistent session (clean_session false), so the broker keeps
    the subscription and queues messages while this subscriber is disconnected.
    """

    def __init__(
        self,
        port: int,
        topics: Sequence[str],
        *,
        session: str | None = None,
        qos: int = 1,
        tls: TlsFiles | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.port, self.topics, self.qos = port, list(topics), qos
        self._cond = threading.Condition()
        self._messages: list[Received] = []
        self.connects = 0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=session or "", clean_session=session is None
        )
        if tls:
            self.client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.client_cert), keyfile=str(tls.client_key))
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self._subscribed = 0

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(t, self.qos) for t in self.topics])
            with self._cond:
                self.connects += 1
                self._cond.notify_all()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        with self._cond:
            self._subscribed += 1
            self._cond.notify_all()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self._messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic()))
            self._cond.notify_all()

    def start(self, timeout: float = 10.0) -> Subscriber:
        self.client.connect_async(Broker.host, self.port, keepalive=10)
        self.client.loop_start()
        self.wait(lambda: self._subscribed >= 1, timeout, "the subscription to be acknowledged")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Subscriber:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[Received]:
        with self._cond:
            return list(self._messages)

    def on(self, suffix: str) -> list[Received]:
        """Messages whose topic ends with ``suffix``."""
        return [m for m in self.messages if m.topic.endswith(suffix)]

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0, what: str = "") -> None:
        """Wait until ``predicate(messages)`` holds; fail naming ``what`` and what did arrive."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self._messages), timeout):
                seen = [(m.topic, m.payload[:60]) for m in self._messages[-5:]]
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what or 'messages'}; "
                    f"{len(self._messages)} received, the last: {seen}"
                )


def first_occurrences(messages: Sequence[Received]) -> Iterator[dict[str, Any]]:
    """Result payloads with repeats dropped by (stream, model, frame), as a subscriber dedupes."""
    seen: set[tuple[str, str, int]] = set()
    for m in messages:
        doc = m.json()
        key = (doc["stream"], doc["model"], doc["frame"])
        if key not in seen:
            seen.add(key)
            yield doc
