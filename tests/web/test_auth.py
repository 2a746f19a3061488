"""Every credential form the device routes take, on every guarded route, of a daemon with api_keys."""

from __future__ import annotations

import base64
import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.serve.helpers import DETECT, Served, request, serve, wait_for

KEY = "page-auth-key-41c9"
ROUTES = (
    "/api/streams",
    "/api/status",
    "/api/config",
    "/api/streams/cam/latest.jpg",
    "/api/streams/cam/latest.json",
    "/api/streams/cam/mjpeg",
)


@dataclass(frozen=True)
class Session:
    run: Served
    cookie: str  # "edge_session=TOKEN" of a login done once for the module


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    """The status only: the MJPEG route never ends its body, so it is not read."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        return conn.getresponse().status
    finally:
        conn.close()


def login(url: str, key: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    body = urlencode({"api_key": key}).encode()
    answer = request(
        url + "/login", body, {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}, method="POST"
    )
    return answer.status, dict(answer.headers), answer.body


def cookie_of(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0]


@pytest.fixture(scope="module")
def session(short_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    import os

    os.environ["EDGE_PAGE_AUTH_KEY"] = KEY
    state = tmp_path_factory.mktemp("state")
    text = (
        f"models:\n  det: {{path: {DETECT}}}\n"
        f"streams:\n  cam: {{uri: '{short_clip}', models: [det]}}\n"
        f"http: {{port: 0, api_keys: [{{env: EDGE_PAGE_AUTH_KEY}}]}}\nstate_dir: {state}\n"
    )
    run = serve(text)
    wait_for(lambda: request(run.url + f"/api/streams/cam/latest.json?api_key={KEY}").status == 200, 30)
    status, headers, _ = login(run.url, KEY)
    assert status == 303
    yield Session(run, cookie_of(headers["set-cookie"]))
    run.finish()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# (name, query, headers (COOKIE is replaced by the module's session cookie), expected status)
FORMS = [
    ("nothing", "", {}, 401),
    ("query", f"?api_key={KEY}", {}, 200),
    ("query, wrong", "?api_key=nope", {}, 401),
    ("bearer", "", {"Authorization": f"Bearer {KEY}"}, 200),
    ("bearer, wrong", "", {"Authorization": "Bearer nope"}, 401),
    ("basic", "", {"Authorization": _basic("homeassistant", KEY)}, 200),
    ("basic, no user", "", {"Authorization": _basic("", KEY)}, 200),
    ("basic, key as user", "", {"Authorization": _basic(KEY, "")}, 401),
    ("basic, not base64", "", {"Authorization": "Basic %%%"}, 401),
    ("cookie", "", {"Cookie": "COOKIE"}, 200),
    ("cookie, forged", "", {"Cookie": "edge_session=" + "A" * 43}, 401),
    ("cookie holding the key", "", {"Cookie": f"edge_session={KEY}"}, 401),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("form", "query", "headers", "expected"), FORMS, ids=[f[0] for f in FORMS])
def test_each_credential_form_on_each_route(
    session: Session, route: str, form: str, query: str, headers: dict[str, str], expected: int
) -> None:
    sent = {k: (session.cookie if v == "COOKIE" else v) for k, v in headers.items()}
    assert status_of(session.run.url + route + query, sent) == expected, form


def test_the_page_asks_for_the_key_without_one(session: Session) -> None:
    answer = request(session.run.url + "/")
    body = answer.body.decode()
    assert answer.status == 200 and 'name="api_key"' in body and 'action="/login"' in body
    assert "/static/page.js" not in body  # the page itself is not served before login


def test_a_wrong_key_is_a_401_page_that_leaks_nothing(session: Session) -> None:
    offered = "wrong-but-close-" + KEY[:6]
    status, headers, body = login(session.run.url, offered)
    assert status == 401 and "set-cookie" not in headers
    text = body.decode()
    assert 'name="api_key"' in text and offered not in text and KEY not in text


def test_the_login_cookie_is_opaque_httponly_and_strict(session: Session) -> None:
    status, headers, _ = login(session.run.url, KEY)
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    assert KEY not in cookie and base64.b64encode(KEY.encode()).decode() not in cookie
    assert request(session.run.url + "/", headers={"Cookie": cookie_of(cookie)}).body.count(b"Sign out") == 1


def test_the_cookie_is_secure_behind_an_https_proxy(session: Session) -> None:
    _, headers, _ = login(session.run.url, KEY, {"X-Forwarded-Proto": "https"})
    assert "secure" in {part.strip().lower() for part in headers["set-cookie"].split(";")}


def test_logout_ends_the_session(session: Session) -> None:
    _, headers, _ = login(session.run.url, KEY)
    cookie = cookie_of(headers["set-cookie"])
    assert status_of(session.run.url + "/api/status", {"Cookie": cookie}) == 200
    out = request(session.run.url + "/logout", b"", {"Cookie": cookie}, method="POST")
    assert out.status == 303 and 'edge_session=""' in out.headers["set-cookie"]
    assert status_of(session.run.url + "/api/status", {"Cookie": cookie}) == 401
    assert status_of(session.run.url + "/api/status", {"Cookie": session.cookie}) == 200  # others stay signed in


def test_a_login_body_too_long_is_refused(session: Session) -> None:
    status, headers, _ = login(session.run.url, "x" * 5000)
    assert status == 413 and "set-cookie" not in headers
