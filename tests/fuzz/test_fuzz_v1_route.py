"""The v1 route fuzzed over loopback against the real daemon (starlette app, uvicorn, the
fixture detector): bodies (base64, raw bytes, multipart, damaged real images), every known
query parameter with arbitrary strings, unknown ones and huge values, arbitrary Content-Types
and keys. Every answer is a 2xx/4xx (or a 503 busy) with a JSON body, never a 500, never a
traceback, and nothing is logged as an error."""

from __future__ import annotations

import base64
import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from edge.serve.urlpolicy import UrlPolicy, UrlRefused
from tests.fuzz.test_fuzz_images import REAL, mutated
from tests.serve.helpers import DETECT, Served, serve

KEY_VAR = "EDGE_TEST_FUZZ_KEY"
KEY = "sk-fuzz-5ecret"
KNOWN = ("api_key", "confidence", "overlap", "max_detections", "keypoint_confidence", "format", "labels", "stroke")
_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
VALUES = (
    _TEXT
    | st.sampled_from(["", "0", "1", "50", "100", "-1", "1e308", "nan", "inf", "True", "false", "best", "image"])
    | st.sampled_from(["json", "image_and_json", "999999999999999999999", "0x10", " 1", "1_000"])
    | st.integers(-(10**30), 10**30).map(str)
    | st.floats().map(str)
    | st.integers(1000, 6000).map(lambda n: "9" * n)  # huge, but the request head stays under h11's 16 KB
)

GOOD = {
    "api_key": [KEY],
    "confidence": ["0.5", "50", "best", "", "1"],
    "overlap": ["0.3", "30", "0"],
    "max_detections": ["10", "300", "0"],
    "keypoint_confidence": ["0.2", "0"],
    "format": ["json", "image", "image_and_json"],
    "labels": ["true", "False", "1"],
    "stroke": ["1", "3", "50"],
}


class ErrorLog(logging.Handler):
    """Records that uvicorn or edge logged as errors (an exception in the app lands here)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def device() -> Iterator[tuple[Served, ErrorLog, http.client.HTTPConnection]]:
    errors = ErrorLog()
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "edge", "starlette")]
    for lg in loggers:
        lg.addHandler(errors)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_VAR, KEY)
        run = serve(
            f"""\
models:
  det: {{path: {DETECT}}}
http:
  port: 0
  api_keys: [{{env: {KEY_VAR}}}]
  max_pixels: 1000000
""",
            duration=24 * 3600.0,  # EDGE_FUZZ=long runs for many minutes
        )
        host, port = run.url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        yield run, errors, conn
        conn.close()
        run.finish()
    for lg in loggers:
        lg.removeHandler(errors)


@st.composite
def queries(draw: st.DrawFn) -> dict[str, str]:
    # mostly good values (4 in 5), so that the examples also reach the model and the drawing
    names = draw(st.lists(st.sampled_from(KNOWN), unique=True, max_size=5))
    query = {k: draw(st.sampled_from(GOOD[k]) if draw(st.integers(0, 4)) else VALUES) for k in names}
    query.update(draw(st.dictionaries(_TEXT, VALUES, max_size=2)))  # unknown ones (or known, again)
    choice = draw(st.sampled_from(["key", "key", "key", "other", "none"]))
    if choice == "key":
        query["api_key"] = KEY
    elif choice == "none":
        query.pop("api_key", None)
    return query


@st.composite
def multiparts(draw: st.DrawFn) -> tuple[bytes, str]:
    boundary = draw(st.sampled_from(["b0undary", "x" * 70, "", "a b", "--"]) | st.text("abcXYZ019-_", max_size=20))
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["file", "image", "", 'fi"le']) | _TEXT)
        data = draw(st.sampled_from([REAL["jpeg"], REAL["png"], b""]) | st.binary(max_size=200) | mutated())
        filename = draw(st.sampled_from(['; filename="x.jpg"', "", '; filename=""', "; filename*=utf-8''%FF"]))
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n\r\n'.encode() + data)
    end = draw(st.sampled_from([f"\r\n--{boundary}--\r\n", "", f"--{boundary}", "\r\n"]))
    body = b"\r\n".join(parts) + end.encode()
    content_type = draw(
        st.sampled_from(
            [f"multipart/form-data; boundary={boundary}", "multipart/form-data", "Multipart/Form-Data; boundary="]
        )
    )
    return body, content_type


def _bodies() -> st.SearchStrategy[tuple[bytes, str]]:
    content_types = st.sampled_from(["application/x-www-form-urlencoded", "text/plain", "image/jpeg", ""]) | st.text(
        st.characters(min_codepoint=32, max_codepoint=126), max_size=30
    )
    images = st.sampled_from(sorted(REAL)).map(REAL.__getitem__) | mutated()
    raw = images | st.binary(max_size=512)
    b64 = images.map(base64.b64encode) | images.map(lambda d: b"data:image/jpeg;base64," + base64.b64encode(d))
    text = st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
    return st.tuples(raw | b64 | text, content_types) | multiparts()


def _ask(
    conn: http.client.HTTPConnection, path: str, query: dict[str, str], body: bytes | None, ctype: str | None
) -> tuple[int, str, bytes]:
    target = path + ("?" + urlencode(query) if query else "")
    headers = {"Content-Type": ctype} if ctype else {}
    try:
        conn.request("POST" if body is not None else "GET", target, body, headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type") or "", resp.read()
    except (ConnectionError, http.client.HTTPException):
        conn.close()  # the server closed a keep-alive connection: ask again on a new one
        conn.request("POST" if body is not None else "GET", target, body, headers)
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type") or "", resp.read()


def _check_answer(status: int, ctype: str, body: bytes, errors: ErrorLog) -> None:
    event(f"status {status}")  # --hypothesis-show-statistics: which answers the examples reached
    assert status < 500 or status == 503, (status, body[:300])
    assert b"Traceback" not in body
    if status == 200 and ctype == "image/jpeg":
        assert body.startswith(b"\xff\xd8")
    else:
        doc: Any = json.loads(body)
        assert isinstance(doc, dict)
        if status >= 400:
            assert isinstance(doc.get("message"), str) or isinstance(doc.get("detail"), list), doc
    assert not errors.records, [r.getMessage() for r in errors.records]


@given(queries(), _bodies())
@example({"api_key": KEY, "confidence": "nan"}, (REAL["jpeg"], "image/jpeg"))
@example({"api_key": KEY, "overlap": "inf", "format": "image", "stroke": "50"}, (REAL["jpeg"], "image/jpeg"))
@example({"api_key": KEY, "max_detections": "9" * 5000}, (REAL["jpeg"], "image/jpeg"))
@example({"api_key": KEY}, (b"", "multipart/form-data; boundary="))
def test_any_request_gets_a_json_answer_and_never_a_500(
    device: tuple[Served, ErrorLog, http.client.HTTPConnection], query: dict[str, str], body: tuple[bytes, str]
) -> None:
    _run, errors, conn = device
    status, ctype, answer = _ask(conn, "/det/1", query, body[0], body[1] or None)
    _check_answer(status, ctype, answer, errors)


@given(queries(), st.sampled_from(["/det/1", "/det/2", "/healthz", "/readyz", "/metrics", "/api/status"]))
def test_any_query_on_any_route_never_fails(
    device: tuple[Served, ErrorLog, http.client.HTTPConnection], query: dict[str, str], path: str
) -> None:
    _run, errors, conn = device
    status, ctype, answer = _ask(conn, path, query, None, None)
    if path == "/metrics":
        assert status == 200 and not errors.records
        return
    _check_answer(status, ctype, answer, errors)


@pytest.mark.parametrize("size", [20_000, 2_000_000])
def test_a_huge_query_is_refused_and_the_server_goes_on(
    device: tuple[Served, ErrorLog, http.client.HTTPConnection], size: int
) -> None:
    """20 KB arriving at once reaches the route (422); a head h11 must buffer past 16 KB is
    refused by uvicorn itself (400, plain text, the connection closed: a client still sending
    it may see a reset). Either way the server goes on answering."""
    run, errors, conn = device
    host, port = run.url.removeprefix("http://").split(":")
    big = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        big.request("POST", f"/det/1?api_key={KEY}&confidence=" + "1" * size, b"x", {"Content-Type": "text/plain"})
        resp = big.getresponse()
        status, body = resp.status, resp.read()
        assert (status, size) == (422, 20_000) or status == 400, (status, body[:200])
        assert b"Traceback" not in body
    except (ConnectionResetError, BrokenPipeError):
        assert size > 100_000, "a 20 KB query was reset"
    finally:
        big.close()
    status, _ctype, _answer = _ask(conn, "/healthz", {}, None, None)
    assert status == 200 and not errors.records


@given(st.text(max_size=80) | st.sampled_from(["http://[::1", "http://a:99999/", "http://\u0130.local/", "ftp://nvr/"]))
@example("http://[::1")  # urlsplit raises ValueError: from_url answers 400 for it
def test_the_url_policy_refuses_or_raises_value_error_only(url: str) -> None:
    policy = UrlPolicy(True, False, frozenset({"nvr.local"}))
    try:
        policy.check(url)
    except (UrlRefused, ValueError):
        pass
