"""The device page's package data: small, self-contained, and filled in with escaped values."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.web.pages import CSP, asset
from tests.serve.helpers import DETECT, Served, request, serve, wait_for

ASSETS = ("index.html", "login.html", "page.css", "page.js")
BUDGET = 50 * 1024


def test_the_page_and_its_assets_fit_in_50_kb() -> None:
    total = sum(len(asset(name).encode()) for name in ASSETS)
    assert 0 < total <= BUDGET, f"the page weighs {total} bytes; the budget is {BUDGET}"


@pytest.mark.parametrize("name", ASSETS)
def test_no_asset_names_another_host(name: str) -> None:
    text = asset(name)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), "a URL of another host"
    assert "@import" not in text and "@font-face" not in text


def test_the_script_never_parses_server_text_as_html() -> None:
    script = asset("page.js")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


@pytest.fixture(scope="module")
def served(short_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state = tmp_path_factory.mktemp("state")
    text = (
        f"models:\n  det: {{path: {DETECT}}}\n"
        f"streams:\n  cam: {{uri: '{short_clip}', models: [det]}}\n"
        "mqtt: {host: 127.0.0.1, port: 1, device_id: 'dev<b>&x'}\n"
        f"http: {{port: 0}}\nstate_dir: {state}\n"
    )
    run = serve(text)
    wait_for(lambda: request(run.url + "/api/streams/cam/latest.json").status == 200, 30)
    yield run
    run.finish()


def test_the_page_is_served_with_escaped_values_and_a_strict_policy(served: Served) -> None:
    answer = request(served.url + "/")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CSP
    body = answer.body.decode()
    assert "dev&lt;b&gt;&amp;x" in body and "dev<b>" not in body
    assert "$" not in body, "a placeholder was left unfilled"
    assert "Sign out" not in body  # no api_keys: nothing to sign out of


@pytest.mark.parametrize(("path", "kind"), [("/static/page.css", "text/css"), ("/static/page.js", "text/javascript")])
def test_the_assets_are_served(served: Served, path: str, kind: str) -> None:
    answer = request(served.url + path)
    assert answer.status == 200 and answer.headers["content-type"].startswith(kind)
    assert answer.body == asset(path.rsplit("/", 1)[1]).encode()


def test_an_unknown_asset_is_a_404(served: Served) -> None:
    assert request(served.url + "/static/secret.txt").status == 404


def test_the_status_names_the_device_its_version_and_backend(served: Served) -> None:
    from edge import __version__

    device = request(served.url + "/api/status").json()["device"]
    assert device == {"id": "dev<b>&x", "version": __version__, "backend": "onnxruntime"}
