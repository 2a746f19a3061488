"""The DNS-rebinding guard: without an API key, only requests that name the device by an IP
address, localhost or a name in http.hosts are answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge.serve.hostcheck import host_allowed
from tests.serve.helpers import DETECT, IMAGE, Served, request, serve

KEY_VAR = "EDGE_TEST_HOSTCHECK_KEY"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:9001", True),
        ("192.168.1.20", True),
        ("[::1]:9001", True),
        ("localhost:9001", True),
        ("cam.localhost", True),
        ("jetson.local:9001", True),  # in http.hosts
        ("JETSON.LOCAL.", True),
        ("attacker.example:9001", False),
        ("127.0.0.1.attacker.example", False),
        ("", False),
        ("::1", True),  # a bare v6 literal (no brackets, no port)
    ],
)
def test_which_host_headers_are_allowed(host: str, allowed: bool) -> None:
    assert host_allowed(host, frozenset({"jetson.local"})) is allowed


@pytest.fixture(scope="module")
def keyless() -> Iterator[Served]:
    run = serve(f"""\
models:
  det: {{path: {DETECT}}}
http:
  port: 0
  hosts: [jetson.local]
""")
    yield run
    run.finish()


@pytest.mark.parametrize(
    ("host", "status"), [(None, 200), ("attacker.example", 403), ("jetson.local", 200), ("localhost", 200)]
)
@pytest.mark.parametrize("path", ["/healthz", "/det/1"])
def test_a_keyless_device_answers_only_its_own_names(keyless: Served, host: str | None, status: int, path: str) -> None:
    headers = {"Content-Type": "image/jpeg", **({"Host": host} if host else {})}
    answer = request(keyless.url + path, IMAGE.read_bytes(), headers) if path != "/healthz" else None
    if answer is None:
        answer = request(keyless.url + path, None, {"Host": host} if host else {})
    assert answer.status == status, answer.body[:200]
    if status == 403:
        assert "DNS rebinding" in answer.json()["message"]


def test_with_a_key_the_host_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VAR, "sk-host")
    run = serve(f"""\
models:
  det: {{path: {DETECT}}}
http:
  port: 0
  api_keys: [{{env: {KEY_VAR}}}]
""")
    try:
        answer = request(run.url + "/healthz", None, {"Host": "attacker.example"})
    finally:
        run.finish()
    assert answer.status == 200


def test_hosts_must_be_a_list_of_names() -> None:
    from edge.config import ConfigErrors, parse_config

    with pytest.raises(ConfigErrors, match=r"<config>:5: http\.hosts: a list of host names"):
        parse_config(f"models:\n  det: {{path: {DETECT}}}\nhttp:\n  port: 0\n  hosts: jetson.local\n")
