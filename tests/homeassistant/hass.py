"""A real Home Assistant (PyPI ``homeassistant`` in ``.venv-ha``, Python 3.13) for tests, offline.

The config directory is prepared so that nothing needs a browser or the network:

* ``configuration.yaml``: ``http`` on 127.0.0.1 and a free port, ``api``; nothing else is
  asked for (HA still sets up its always-on integrations; those whose packages are missing,
  e.g. the frontend, fail to load and HA runs on).
* ``.storage/core.config_entries``: an ``mqtt`` config entry pointing at the test broker,
  which is what the MQTT integration's setup flow would have written.
* ``.storage/auth``: an owner and a long-lived refresh token with a known ``jwt_key``; the
  access token is the HS256 JWT HA itself would issue for it (``iss`` = the token's id).
* ``.storage/onboarding``: every step done.

HA runs with ``--skip-pip`` (nothing may be installed at run time); ``tools/install_homeassistant.sh``
installs it and the MQTT integration's paho-mqtt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT
from tests.mqtt_broker import free_port

HASS_PYTHON = ROOT / ".venv-ha" / "bin" / "python"
INSTALL_HINT = "run tools/install_homeassistant.sh (Home Assistant from PyPI on pyenv's Python 3.13 in .venv-ha)"
_USER = "0123456789abcdef0123456789abcdef"
_TOKEN_ID = "fedcba9876543210fedcba9876543210"
_JWT_KEY = "edge-test-jwt-key-" + "0" * 46
_CREATED = "2026-01-01T00:00:00+00:00"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token(now: float | None = None) -> str:
    """An HS256 JWT for the stored refresh token, as ``AuthManager.async_create_access_token`` makes."""
    iat = int(time.time() if now is None else now)
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iss": _TOKEN_ID, "iat": iat, "exp": iat + 86400}).encode())
    signature = hmac.new(_JWT_KEY.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{_b64(signature)}"


def _store(key: str, data: dict[str, Any], version: int = 1, minor: int = 1) -> dict[str, Any]:
    return {"version": version, "minor_version": minor, "key": key, "data": data}


def _auth() -> dict[str, Any]:
    user = {
        "id": _USER,
        "group_ids": ["system-admin"],
        "is_owner": True,
        "is_active": True,
        "name": "edge test",
        "system_generated": False,
        "local_only": False,
    }
    token = {
        "id": _TOKEN_ID,
        "user_id": _USER,
        "client_id": None,
        "client_name": "edge tests",
        "client_icon": None,
        "token_type": "long_lived_access_token",
        "created_at": _CREATED,
        "access_token_expiration": 86400.0,
        "token": "f" * 128,
        "jwt_key": _JWT_KEY,
        "last_used_at": None,
        "last_used_ip": None,
        "expire_at": None,
        "credential_id": None,
        "version": None,
    }
    return _store("auth", {"users": [user], "groups": [{"id": "system-admin", "name": "Administrators"}],
                           "credentials": [], "refresh_tokens": [token]})  # fmt: skip


def _mqtt_entry(port: int) -> dict[str, Any]:
    entry = {
        "entry_id": "01JEDGETESTMQTT0000000000",
        "version": 1,
        "minor_version": 2,
        "domain": "mqtt",
        "title": "test broker",
        "data": {"broker": "127.0.0.1", "port": port},
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "unique_id": None,
        "disabled_by": None,
        "discovery_keys": {},
        "subentries": [],
        "created_at": _CREATED,
        "modified_at": _CREATED,
    }
    return _store("core.config_entries", {"entries": [entry]}, minor=5)


class HomeAssistant:
    """``python -m homeassistant --config DIR --skip-pip`` in its own process; REST API on ``url``."""

    def __init__(self, directory: Path, broker_port: int, frontend: bool = False) -> None:
        if not HASS_PYTHON.exists():
            pytest.fail(f"the Home Assistant test needs {HASS_PYTHON}: {INSTALL_HINT}")
        self.dir = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "hass.out"
        self._proc: subprocess.Popen[bytes] | None = None
        storage = directory / ".storage"
        storage.mkdir(parents=True, exist_ok=True)
        (directory / "configuration.yaml").write_text(
            "homeassistant:\n  name: edge test\n  latitude: 0\n  longitude: 0\n  elevation: 0\n"
            "  unit_system: metric\n  time_zone: UTC\n  currency: EUR\n  country: DE\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\napi:\n"
            "logger:\n  default: warning\n  logs:\n    homeassistant.components.mqtt: info\n"
            # The UI, for tools/screenshot_docs.py; the tests need only the REST API.
            + ("frontend:\nconfig:\n" if frontend else "")
        )
        files = {
            "auth": _auth(),
            "core.config_entries": _mqtt_entry(broker_port),
            "onboarding": _store("onboarding", {"done": ["user", "core_config", "analytics", "integration"]}, 4),
        }
        for name, doc in files.items():
            (storage / name).write_text(json.dumps(doc))

    def start(self, timeout: float = 60.0) -> HomeAssistant:
        cmd = [str(HASS_PYTHON), "-m", "homeassistant", "--config", str(self.dir), "--skip-pip"]
        with open(self.log, "ab") as out:
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                pytest.fail(f"Home Assistant exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                if self.get("/api/").get("message") == "API running.":
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.3)
        pytest.fail(f"Home Assistant's API did not answer within {timeout} s:\n{self.log_tail()}")

    def get_bytes(self, path: str) -> bytes:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {access_token()}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return bytes(resp.read())

    def get(self, path: str) -> Any:
        return json.loads(self.get_bytes(path))

    def states(self) -> dict[str, dict[str, Any]]:
        """Every entity's state by entity id."""
        return {s["entity_id"]: s for s in self.get("/api/states")}

    def wait_for(self, predicate: Any, timeout: float, what: str) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        states: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            try:
                states = self.states()
            except (OSError, ValueError, urllib.error.HTTPError):
                states = {}
            if predicate(states):
                return states
            time.sleep(0.25)
        shown = {k: v["state"] for k, v in states.items() if k.split(".")[0] in ("sensor", "binary_sensor", "camera")}
        raise AssertionError(f"Home Assistant: no {what} within {timeout} s; states: {shown}\n{self.log_tail(15)}")

    def stop(self, timeout: float = 30.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> HomeAssistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._proc is not None:
            self._proc.kill()
