"""No open device by accident: beyond loopback, a key or an explicit opt-out, from config and CLI."""

from __future__ import annotations

import pytest

from edge.config import ConfigError, parse_config
from edge.serve.exposure import exposed_without_keys, is_loopback
from tests.serve.helpers import DETECT

MODELS = f"models:\n  det: {{path: {DETECT}}}\n"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("jetson.local", False),  # a name may resolve to any interface
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    assert exposed_without_keys(host, has_keys=False, allow_unauthenticated=False) is not loopback
    assert not exposed_without_keys(host, has_keys=True, allow_unauthenticated=False)
    assert not exposed_without_keys(host, has_keys=False, allow_unauthenticated=True)


CONFIGS = {
    # name: (http section, error words or "" when accepted)
    "default loopback, no key": ("{}", ""),
    "all interfaces with a key": ("{host: 0.0.0.0, api_keys: [{env: K}]}", ""),
    "all interfaces, opted out": ("{host: 0.0.0.0, allow_unauthenticated: true}", ""),
    "all interfaces, no key": ("{host: 0.0.0.0}", "http.host: 0.0.0.0 is reachable from the network"),
    "a LAN address, no key": ("{host: 10.0.0.5}", "add http.api_keys: [{env: VARIABLE}]"),
    "opt-out not a bool": ("{host: 0.0.0.0, allow_unauthenticated: yes please}", "must be true or false"),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_config(case: str) -> None:
    section, words = CONFIGS[case]
    text = MODELS + f"http: {section}\n"
    if not words:
        assert parse_config(text).http is not None
        return
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert words in str(info.value) and len(str(info.value).splitlines()) == 1
