"""The ``http:`` section: defaults, key references, and one line per mistake."""

from __future__ import annotations

import pytest

from edge.config import ConfigErrors, load_config, parse_config
from edge.publish.config import SecretRef
from edge.serve.config import HttpConfig
from tests.serve.helpers import DETECT, ROOT

MODELS = f"models:\n  det: {{path: {DETECT}}}\n"


def test_defaults_are_loopback_port_9001_no_keys() -> None:
    config = parse_config(MODELS + "http:\n")
    assert config.http == HttpConfig("127.0.0.1", 9001, (), 2.0, 16)
    assert config.streams == ()  # a server needs no cameras


def test_every_key() -> None:
    text = (
        MODELS
        + "http: {host: 0.0.0.0, port: 8080, api_keys: [{env: K1}, {credential: k2}], max_wait: 0.5, max_queue: 3}\n"
    )
    http = parse_config(text).http
    assert http is not None
    assert (http.host, http.port, http.max_wait, http.max_queue) == ("0.0.0.0", 8080, 0.5, 3)
    assert [(r.kind, r.name) for r in http.api_keys] == [("env", "K1"), ("credential", "k2")]


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ("{port: 70000}", "http.port: must be"),
        ("{max_wait: 0}", "http.max_wait: must be more than 0 seconds"),
        ("{max_queue: 0}", "http.max_queue: must be"),
        ("{api_keys: [sk-123]}", "http.api_keys[0]: do not put the API key in the config file"),
        ("{api_keys: {env: K}}", "http.api_keys: a list of"),
        ("{prot: 1}", "http.prot: unknown key; did you mean 'port'?"),
    ],
)
def test_mistakes_are_one_line_each_with_the_key_path(section: str, error: str) -> None:
    with pytest.raises(ConfigErrors) as exc:
        parse_config(MODELS + f"http: {section}\n")
    assert len(exc.value.lines) == 1 and error in exc.value.lines[0], exc.value.lines
    assert "sk-123" not in str(exc.value)


def test_an_empty_streams_mapping_with_http_means_no_cameras() -> None:
    config = parse_config(MODELS + "streams: {}\nhttp:\n")
    assert config.streams == ()
    assert config.http is not None


def test_without_http_an_empty_streams_mapping_is_still_refused() -> None:
    with pytest.raises(ConfigErrors, match="streams: required"):
        parse_config(MODELS + "streams: {}\n")


def test_without_http_streams_are_still_required() -> None:
    with pytest.raises(ConfigErrors, match="streams: required"):
        parse_config(MODELS)


def test_an_unreadable_key_is_one_line_naming_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGE_TEST_NO_SUCH_KEY", raising=False)
    http = HttpConfig(api_keys=(SecretRef("env", "EDGE_TEST_NO_SUCH_KEY", "http.api_keys[0]"),))
    with pytest.raises(
        Exception, match=r"http.api_keys\[0\]: the environment variable EDGE_TEST_NO_SUCH_KEY is not set"
    ):
        http.resolve_keys()


@pytest.mark.parametrize("name", ["device-a.yaml", "device-b.yaml"])
def test_the_two_device_example_configs_load(name: str) -> None:
    config = load_config(ROOT / "examples" / "two-devices" / name)
    assert config.http is not None and config.http.port == 9001
    assert name == "device-b.yaml" or config.models["detect"].hosted is not None
