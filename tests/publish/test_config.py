"""mqtt: and spool: sections: defaults, validation, one-line errors naming the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import EdgeError
from edge.publish.config import MqttConfig, SecretRef, SpoolConfig, TlsConfig


def test_defaults() -> None:
    c = MqttConfig.from_mapping({"host": "broker.local", "device_id": "jetson-7"})
    assert (c.port, c.qos, c.topic_prefix, c.keepalive, c.max_inflight, c.tls, c.password) == (
        1883, 1, "edge", 30, 20, None, None
    )  # fmt: skip
    assert c.mqtt_client_id == "edge-jetson-7"
    assert c.topics.result("cam1", "detect") == "edge/jetson-7/cam1/detect/predictions"
    assert c.topics.status == "edge/jetson-7/status"
    assert MqttConfig.from_mapping({"host": "b"}).device_id  # the host name by default


def test_tls_switches_the_default_port(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("x")
    c = MqttConfig.from_mapping({"host": "b", "tls": {"ca": "ca.crt"}}, base_dir=tmp_path)
    assert c.port == 8883 and c.tls == TlsConfig(ca=ca)
    assert MqttConfig.from_mapping({"host": "b", "tls": True}).tls == TlsConfig()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"host": "b", "qos": 5}, "mqtt.qos: must be 0, 1 or 2, got 5"),
        ({"host": "b", "qos": "1"}, "mqtt.qos: must be a whole number, got '1'"),
        ({"host": "b", "port": 70000}, "mqtt.port: must be between 1 and 65535, got 70000"),
        ({"host": "b", "port": True}, "mqtt.port: must be a whole number, got True"),
        ({"hots": "b"}, "mqtt.hots: unknown key; did you mean 'host'?"),
        ({"host": "b", "zzz": 1}, "mqtt.zzz: unknown key; known keys: client_id, device_id,"),
        ({}, "mqtt.host: required"),
        ({"host": "b", "device_id": "cam/1"}, "mqtt.device_id: must not contain '/'"),
        ({"host": "b", "device_id": "a+b"}, "mqtt.device_id: must not contain '+'"),
        ({"host": "b", "topic_prefix": "site/#"}, "mqtt.topic_prefix: must not contain '#'"),
        ({"host": "b", "topic_prefix": "/edge"}, "mqtt.topic_prefix: must not start or end with '/'"),
        ({"host": "b", "topic_prefix": "$SYS"}, "mqtt.topic_prefix: must not start with '$'"),
        ({"host": "b", "keepalive": 1}, "mqtt.keepalive: must be between 5 and 65535, got 1"),
        ({"host": "b", "stats_interval": "soon"}, "mqtt.stats_interval: must be a duration in seconds"),
        ({"host": "b", "stats_interval": 0}, "mqtt.stats_interval: must be more than 0 seconds"),
        ({"host": "b", "reconnect_delay_min": 10, "reconnect_delay_max": 5}, "mqtt.reconnect_delay_max: must be at"),
        ({"host": "b", "password": {"env": "P"}}, "mqtt.password: needs mqtt.username as well"),
        ({"host": "b", "username": "u", "password": {"env": "P", "credential": "c"}}, "mqtt.password: give exactly"),
        ({"host": "b", "username": "u", "password": {"file": "p"}}, "mqtt.password.file: unknown key"),
        ({"host": "b", "username": "u", "password": {"env": "1X"}}, "mqtt.password.env: '1X' is not an environment"),
        ({"host": "b", "username": "u", "password": {"credential": "../x"}}, "mqtt.password.credential: '../x' is"),
        ({"host": "b", "tls": {"cert": "/nonexistent.crt"}}, "mqtt.tls.cert: file not found: /nonexistent.crt"),
        ({"host": "b", "tls": {"insecure": "yes"}}, "mqtt.tls.insecure: must be true or false, got 'yes'"),
        ({"host": "b", "tls": "on"}, "mqtt.tls: must be a mapping"),
    ],
)
def test_errors_are_one_line_and_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(EdgeError) as err:
        MqttConfig.from_mapping(data)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_password_in_the_yaml_is_refused_without_echoing_it() -> None:
    with pytest.raises(EdgeError) as err:
        MqttConfig.from_mapping({"host": "b", "username": "u", "password": "hunter2"}, where="outputs.mqtt")
    assert str(err.value).startswith("outputs.mqtt.password: do not put the password in the config file")
    assert "hunter2" not in str(err.value)


def test_cert_without_key(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_text("x")
    with pytest.raises(EdgeError, match=r"^mqtt.tls: cert and key go together"):
        MqttConfig.from_mapping({"host": "b", "tls": {"cert": str(tmp_path / "c.pem")}})


def test_secret_references_resolve(tmp_path: Path) -> None:
    (tmp_path / "mqtt").write_text("from-file\n")
    env = {"EDGE_PW": "from-env", "CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert SecretRef("env", "EDGE_PW").resolve(env) == "from-env"
    assert SecretRef("credential", "mqtt").resolve(env) == "from-file"
    assert "from-env" not in repr(SecretRef("env", "EDGE_PW"))


@pytest.mark.parametrize(
    ("ref", "env", "message"),
    [
        (SecretRef("env", "EDGE_PW"), {}, "mqtt.password: the environment variable EDGE_PW is not set"),
        (SecretRef("credential", "mqtt"), {}, "mqtt.password: credential mqtt needs $CREDENTIALS_DIRECTORY"),
        (SecretRef("credential", "nope"), {"CREDENTIALS_DIRECTORY": "/nonexistent"}, "mqtt.password: cannot read"),
    ],
)
def test_unresolvable_secret_references(ref: SecretRef, env: dict, message: str) -> None:
    with pytest.raises(EdgeError, match="^" + message.replace("$", r"\$")):
        ref.resolve(env)


def test_spool_defaults_and_units(tmp_path: Path) -> None:
    assert SpoolConfig.from_mapping(None, state_dir=tmp_path) == SpoolConfig(tmp_path / "spool")
    c = SpoolConfig.from_mapping(
        {"directory": "q", "max_bytes": "1.5GiB", "max_age": "12h", "sync_interval": 0}, state_dir=tmp_path
    )
    assert (c.directory, c.max_bytes, c.max_age, c.sync_interval) == (tmp_path / "q", 1.5 * 1024**3, 43200.0, 0.0)
    assert SpoolConfig.from_mapping({"directory": "/abs", "max_bytes": "200MB"}, state_dir=tmp_path).directory == Path(
        "/abs"
    )
    assert SpoolConfig.from_mapping({"max_bytes": "200MB"}, state_dir=tmp_path).max_bytes == 200_000_000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_bytes": 1000}, "spool.max_bytes: must be at least 64KiB (65536), got 1000"),
        ({"max_bytes": "lots"}, "spool.max_bytes: must be a size in bytes"),
        ({"max_age": -1}, "spool.max_age: must be more than 0 seconds, got -1"),
        ({"max_age": "1 week"}, "spool.max_age: must be a duration"),
        ({"sync_interval": 7200}, "spool.sync_interval: must be 0 to 3600 seconds, got 7200"),
        ({"max_byte": 1}, "spool.max_byte: unknown key; did you mean 'max_bytes'?"),
        ({"directory": 5}, "spool.directory: must be a non-empty string, got 5"),
    ],
)
def test_spool_errors(tmp_path: Path, data: dict, message: str) -> None:
    with pytest.raises(EdgeError) as err:
        SpoolConfig.from_mapping(data, state_dir=tmp_path)
    assert str(err.value).startswith(message)
