"""Settings of the MQTT publisher (``mqtt:``) and of its on-disk spool (``spool:``).

Both are frozen dataclasses validated on construction; ``from_mapping`` reads the YAML section
and every error names the full key path (``mqtt.qos: must be 0, 1 or 2, got 5``).

The broker password is never in the YAML: ``mqtt.password`` is a *reference*, either
``{env: NAME}`` (an environment variable) or ``{credential: NAME}`` (the file
``$CREDENTIALS_DIRECTORY/NAME`` that systemd's ``LoadCredential=`` provides). It is resolved
only when the publisher connects, and neither the reference's target nor the password is
ever logged.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge.publish.fields import (
    ConfigError,
    check_keys,
    check_mapping,
    get_bool,
    get_int,
    get_str,
    parse_duration,
    parse_size,
)
from edge.publish.topics import Topics, topic_level, topic_problem

__all__ = ["ConfigError", "MqttConfig", "SecretRef", "SpoolConfig", "TlsConfig"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SecretRef:
    """Where a secret is read from. Holds the reference only, so it is safe to print."""

    kind: Literal["env", "credential"]
    name: str
    where: str = field(default="mqtt.password", compare=False)

    def __post_init__(self) -> None:
        if self.kind == "env" and not _ENV_NAME.match(self.name):
            raise ConfigError(f"{self.where}.env: {self.name!r} is not an environment variable name")
        if self.kind == "credential" and (not self.name or "/" in self.name or self.name in (".", "..")):
            raise ConfigError(f"{self.where}.credential: {self.name!r} is not a credential name (a file name)")

    @classmethod
    def from_value(cls, value: object, where: str) -> SecretRef:
        if isinstance(value, str):  # the value itself is never echoed: it may be the password
            raise ConfigError(
                f"{where}: do not put the {'API key' if where.endswith('api_key') else 'password'} in the config file; "
                "use {env: VARIABLE} "
                "or {credential: NAME} (a systemd LoadCredential= file)"
            )
        data = check_mapping(value, where)
        check_keys(data, ("env", "credential"), where)
        if len(data) != 1:
            raise ConfigError(f"{where}: give exactly one of env or credential")
        kind, name = next(iter(data.items()))
        if not isinstance(name, str):
            raise ConfigError(f"{where}.{kind}: must be a name (a string)")
        return cls("env" if kind == "env" else "credential", name, where)

    def describe(self) -> str:
        return f"environment variable {self.name}" if self.kind == "env" else f"credential {self.name}"

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        if self.kind == "env":
            if self.name not in env:
                raise ConfigError(f"{self.where}: the environment variable {self.name} is not set")
            return env[self.name]
        directory = env.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise ConfigError(
                f"{self.where}: credential {self.name} needs $CREDENTIALS_DIRECTORY (set by systemd LoadCredential=)"
            )
        path = Path(directory) / self.name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{self.where}: cannot read credential file {path}: {exc.strerror}") from None
        return text[:-1] if text.endswith("\n") else text  # `echo secret > file` adds one newline


@dataclass(frozen=True)
class TlsConfig:
    """TLS to the broker. No ``ca``: the system's trusted CAs. ``cert`` + ``key``: client certificate."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    insecure: bool = False
    where: str = field(default="mqtt.tls", compare=False)

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ConfigError(f"{self.where}: cert and key go together (a client certificate needs its key)")

    @classmethod
    def from_value(cls, value: object, where: str, base_dir: Path | None = None) -> TlsConfig | None:
        if value is None or value is False:
            return None
        if value is True:
            return cls(where=where)
        data = check_mapping(value, where)
        check_keys(data, ("ca", "cert", "key", "insecure"), where)
        paths: dict[str, Path | None] = {}
        for key in ("ca", "cert", "key"):
            text = get_str(data, key, where)
            path = None if text is None else _resolve_path(text, base_dir)
            if path is not None and not path.is_file():
                raise ConfigError(f"{where}.{key}: file not found: {path}")
            paths[key] = path
        return cls(paths["ca"], paths["cert"], paths["key"], get_bool(data, "insecure", where, False), where)


def default_device_id() -> str:
    """The host name, made safe as a single topic level."""
    return topic_level(socket.gethostname().lstrip("$")) or "edge"


_MQTT_KEYS = (
    "host",
    "port",
    "device_id",
    "topic_prefix",
    "qos",
    "keepalive",
    "client_id",
    "username",
    "password",
    "tls",
    "max_inflight",
    "stats_interval",
    "reconnect_delay_min",
    "reconnect_delay_max",
)


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int = 1883
    device_id: str = field(default_factory=default_device_id)
    topic_prefix: str = "edge"
    qos: int = 1
    keepalive: int = 30
    client_id: str | None = None
    username: str | None = None
    password: SecretRef | None = None
    tls: TlsConfig | None = None
    max_inflight: int = 20
    stats_interval: float = 10.0
    reconnect_delay_min: int = 1
    reconnect_delay_max: int = 30
    where: str = field(default="mqtt", compare=False)

    def __post_init__(self) -> None:
        w = self.where
        if not self.host or any(c.isspace() for c in self.host):
            raise ConfigError(f"{w}.host: must be a host name or address, got {self.host!r}")
        checks: list[tuple[bool, str]] = [
            (1 <= self.port <= 65535, f"{w}.port: must be between 1 and 65535, got {self.port}"),
            (self.qos in (0, 1, 2), f"{w}.qos: must be 0, 1 or 2, got {self.qos}"),
            (5 <= self.keepalive <= 65535, f"{w}.keepalive: must be 5 to 65535 seconds, got {self.keepalive}"),
            (1 <= self.max_inflight <= 65535, f"{w}.max_inflight: must be 1 to 65535, got {self.max_inflight}"),
            (self.stats_interval > 0, f"{w}.stats_interval: must be more than 0 seconds, got {self.stats_interval}"),
            (self.reconnect_delay_min >= 1, f"{w}.reconnect_delay_min: must be at least 1 second"),
            (
                self.reconnect_delay_max >= self.reconnect_delay_min,
                f"{w}.reconnect_delay_max: must be at least reconnect_delay_min ({self.reconnect_delay_min})",
            ),
            (self.password is None or self.username is not None, f"{w}.password: needs {w}.username as well"),
            (self.client_id is None or 0 < len(self.client_id) <= 128, f"{w}.client_id: must be 1 to 128 characters"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        for key, value, levels in (("device_id", self.device_id, False), ("topic_prefix", self.topic_prefix, True)):
            problem = topic_problem(value, levels=levels)
            if problem:
                raise ConfigError(f"{w}.{key}: {problem}, got {value!r}")

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix, self.device_id)

    @property
    def mqtt_client_id(self) -> str:
        """The MQTT client id: two clients with one id disconnect each other, so it defaults per device."""
        return self.client_id or f"edge-{self.device_id}"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "mqtt", *, base_dir: Path | None = None) -> MqttConfig:
        """The ``mqtt:`` section. ``base_dir``: where relative TLS file paths start (default: as given)."""
        data = check_mapping(data, where)
        check_keys(data, _MQTT_KEYS, where)
        host = get_str(data, "host", where)
        if host is None:
            raise ConfigError(f"{where}.host: required (the broker's host name or address)")
        tls = TlsConfig.from_value(data.get("tls"), f"{where}.tls", base_dir)
        password = data.get("password")
        stats = parse_duration(data.get("stats_interval", 10.0), f"{where}.stats_interval")
        delay_min = get_int(data, "reconnect_delay_min", where, 1, 1, 3600)
        return cls(
            host=host,
            port=get_int(data, "port", where, 8883 if tls else 1883, 1, 65535),
            device_id=get_str(data, "device_id", where) or default_device_id(),
            topic_prefix=get_str(data, "topic_prefix", where, "edge") or "edge",
            qos=get_int(data, "qos", where, 1, -(2**31), 2**31),
            keepalive=get_int(data, "keepalive", where, 30, 5, 65535),
            client_id=get_str(data, "client_id", where),
            username=get_str(data, "username", where),
            password=None if password is None else SecretRef.from_value(password, f"{where}.password"),
            tls=tls,
            max_inflight=get_int(data, "max_inflight", where, 20, 1, 65535),
            stats_interval=stats,
            reconnect_delay_min=delay_min,
            reconnect_delay_max=get_int(data, "reconnect_delay_max", where, max(30, delay_min), 1, 86400),
            where=where,
        )


_MIN_SPOOL = 64 * 1024


@dataclass(frozen=True)
class SpoolConfig:
    """The spool: ``max_bytes`` bounds its segment files; ``max_age`` drops results older than that
    (seconds since accepted) instead of publishing them; ``sync_interval`` is how often it fsyncs
    (0: on every write). See :mod:`edge.publish.spool` for what each setting guarantees."""

    directory: Path
    max_bytes: int = 256 * 1024 * 1024
    max_age: float | None = None
    sync_interval: float = 1.0
    where: str = field(default="spool", compare=False)

    def __post_init__(self) -> None:
        w = self.where
        if self.max_bytes < _MIN_SPOOL:
            raise ConfigError(f"{w}.max_bytes: must be at least 64KiB ({_MIN_SPOOL}), got {self.max_bytes}")
        if self.max_age is not None and self.max_age <= 0:
            raise ConfigError(f"{w}.max_age: must be more than 0 seconds, got {self.max_age}")
        if not 0 <= self.sync_interval <= 3600:
            raise ConfigError(f"{w}.sync_interval: must be 0 to 3600 seconds, got {self.sync_interval}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "spool", *, state_dir: Path) -> SpoolConfig:
        """The ``spool:`` section (absent: all defaults); a relative ``directory`` is under ``state_dir``."""
        data = check_mapping({} if data is None else data, where)
        check_keys(data, ("directory", "max_bytes", "max_age", "sync_interval"), where)
        directory = get_str(data, "directory", where)
        max_age = data.get("max_age")
        return cls(
            directory=_resolve_path(directory, state_dir) if directory else Path(state_dir) / "spool",
            max_bytes=parse_size(data.get("max_bytes", cls.max_bytes), f"{where}.max_bytes"),
            max_age=None if max_age is None else parse_duration(max_age, f"{where}.max_age"),
            sync_interval=parse_duration(data.get("sync_interval", 1.0), f"{where}.sync_interval"),
            where=where,
        )


def _resolve_path(text: str, base_dir: Path | None) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() or base_dir is None else Path(base_dir) / path
