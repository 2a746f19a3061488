"""Refusals clients can read: a body over 5 MB (or a wrong key on a large body) sent whole
before reading, as urllib and requests send it, gets the JSON refusal, not a reset."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import requests

from edge.serve.drain import _BodyState
from tests.serve.helpers import DETECT, IMAGE, Served, serve

KEY_VAR = "EDGE_TEST_REFUSAL_KEY"
KEY = "sk-refusal-5ecret"
BIG = b"A" * (6 * 1024 * 1024)  # base64-looking text over the 5 MB limit
TOO_LARGE = {"message": "Request body too large: the limit is 5 MB."}
UNAUTHORIZED = "Unauthorized access to roboflow API - check API key and make sure the key is valid."


@pytest.fixture(scope="module")
def device() -> Iterator[Served]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_VAR, KEY)
        run = serve(f"""\
models:
  det: {{path: {DETECT}}}
http:
  port: 0
  api_keys: [{{env: {KEY_VAR}}}]
""")
        yield run
        run.finish()


def _urllib(url: str, body: bytes) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "text/plain"})  # sends Connection: close
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _requests(url: str, body: bytes) -> tuple[int, dict[str, str]]:
    resp = requests.post(url, data=body, headers={"Content-Type": "text/plain"}, timeout=20)
    return resp.status_code, resp.json()


CLIENTS = {"urllib": _urllib, "requests": _requests}
CASES = [  # (query, expected status, expected message)
    (f"?api_key={KEY}", 413, TOO_LARGE["message"]),
    ("?api_key=wrong", 401, UNAUTHORIZED),
    ("", 401, UNAUTHORIZED),
]


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize(("query", "status", "text"), CASES, ids=["over 5 MB", "wrong key", "no key"])
def test_a_whole_body_client_reads_the_refusal(device: Served, client: str, query: str, status: int, text: str) -> None:
    for _ in range(2):  # twice: the refusal must not depend on how the race falls
        got_status, doc = CLIENTS[client](f"{device.url}/det/1{query}", BIG)
        assert (got_status, doc) == (status, {"message": text})


def test_a_chunked_body_over_the_limit_is_413_for_requests(device: Served) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: requests sends it chunked
        for _ in range(12):
            yield b"A" * (512 * 1024)

    url = f"{device.url}/det/1?api_key={KEY}"
    resp = requests.post(url, data=chunks(), headers={"Content-Type": "text/plain"}, timeout=20)
    assert resp.status_code == 413 and resp.json() == TOO_LARGE


def test_the_connection_stays_usable_after_a_refusal(device: Served) -> None:
    with requests.Session() as session:  # keep-alive: the drained body must not spill into the next request
        first = session.post(f"{device.url}/det/1?api_key={KEY}", data=BIG, headers={"Content-Type": "text/plain"})
        second = session.post(
            f"{device.url}/det/1?api_key={KEY}", data=IMAGE.read_bytes(), headers={"Content-Type": "image/jpeg"}
        )
    assert first.status_code == 413
    assert second.status_code == 200 and second.json()["predictions"]


def test_expect_100_continue_gets_413_without_sending_the_body(device: Served) -> None:
    """As curl sends a large body: headers first, the body only after 100 Continue."""
    host, port = device.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /det/1?api_key={KEY} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(BIG)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        answer = b""
        while b"}" not in answer:
            data = sock.recv(65536)
            assert data, f"closed before the answer: {answer!r}"
            answer += data
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer
    assert answer.endswith(json.dumps(TOO_LARGE, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    ("headers", "events", "unread"),
    [
        ([], [], False),  # a GET: no body
        ([(b"content-length", b"100")], [], True),
        ([(b"content-length", b"100")], [{"type": "http.request", "body": b"x" * 100}], False),
        ([(b"content-length", str(10**9).encode())], [], False),  # over the drain bound: answered at once
        ([(b"transfer-encoding", b"chunked")], [{"type": "http.request", "body": b"x", "more_body": True}], True),
        ([(b"content-length", b"100"), (b"expect", b"100-continue")], [], False),  # body not sent yet
        ([(b"content-length", b"100")], [{"type": "http.disconnect"}], False),
    ],
    ids=["no body", "unread", "read", "over the bound", "chunked", "100-continue", "gone"],
)
def test_what_the_drain_reads(
    headers: list[tuple[bytes, bytes]], events: list[dict[str, object]], unread: bool
) -> None:
    state = _BodyState.of({"headers": headers})
    for event in events:
        state.received = True
        state.saw(event)
    assert state.unread(64 * 1024 * 1024) is unread
