"""The soak's mix of requests to the v1 route: good ones and each kind of bad one, with the
status each must get. Sent with urllib, which sends the whole body before reading and closes
the connection after (the client that saw resets before edge/serve/drain.py)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tests.bombs import png_of_zeros

GOOD_STATUSES = (200, 503)  # 503: the model was busy (a camera frame came first); answered, not dropped


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # with the query
    body: bytes | None
    content_type: str | None
    expect: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    case: str
    status: int  # 0: no HTTP answer (reset, timeout)
    seconds: float
    ok: bool
    error: str = ""


def cases(image: Path, key: str, model: str) -> list[Case]:
    """Every case, good and bad; ``model`` is the served project/version."""
    jpeg = image.read_bytes()
    boundary = "soak-boundary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n'.encode()
        + jpeg
        + f"\r\n--{boundary}--\r\n".encode()
    )
    no_file = f'--{boundary}\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--{boundary}--\r\n'.encode()
    mp = f"multipart/form-data; boundary={boundary}"
    k = f"api_key={key}"
    route = f"/{model}?{k}"
    meta = quote("http://169.254.169.254/latest/meta-data/", safe="")
    return [
        Case("good-jpeg", route, jpeg, "image/jpeg", GOOD_STATUSES),
        Case("good-base64", route, base64.b64encode(jpeg), "application/x-www-form-urlencoded", GOOD_STATUSES),
        Case("good-multipart", route, multipart, mp, GOOD_STATUSES),
        Case("bomb", route, png_of_zeros(20000, 20000), "image/png", (413,)),  # 400 MP declared, 400 KB sent
        Case("truncated-jpeg", route, jpeg[: len(jpeg) // 3], "image/jpeg", (400,)),
        Case("garbage-base64", route, b"!!not base64 at all!!" * 50, "text/plain", (400,)),
        Case("huge-parameter", f"{route}&confidence={'9' * 6000}", jpeg, "image/jpeg", (422,)),
        Case("bad-format", f"{route}&format=xml", jpeg, "image/jpeg", (422,)),
        Case("wrong-key", f"/{model}?api_key=wrong", jpeg, "image/jpeg", (401,)),
        Case("no-key-large-body", f"/{model}", b"A" * (6 * 1024 * 1024), "text/plain", (401,)),
        Case("oversized-body", route, b"A" * (6 * 1024 * 1024), "text/plain", (413,)),
        Case("url-outside-allow-list", f"{route}&image={meta}", None, None, (403,)),
        Case("unknown-model", f"/nope/1?{k}", jpeg, "image/jpeg", (404,)),
        Case("multipart-without-file", route, no_file, mp, (400,)),
        Case("no-content-type", route, jpeg, None, (400,)),
    ]


def send(base: str, case: Case, timeout: float = 30.0) -> Outcome:
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    req = urllib.request.Request(base + case.path, data=case.body, headers=headers, method="POST")
    if case.content_type is None and case.body is not None:
        req.add_header("Content-Type", "")  # urllib would add its own form type otherwise
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (OSError, urllib.error.URLError) as exc:
        return Outcome(case.name, 0, time.perf_counter() - started, False, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    problem = _problem(status, body, case)
    return Outcome(case.name, status, seconds, not problem, problem)


def _problem(status: int, body: bytes, case: Case) -> str:
    if status not in case.expect:
        return f"status {status}, expected {case.expect}: {body[:160]!r}"
    if b"Traceback" in body:
        return "a traceback in the answer"
    if status != 200:
        try:
            doc = json.loads(body)
        except ValueError:
            return f"a {status} whose body is not JSON: {body[:160]!r}"
        if not isinstance(doc, dict) or not ({"message", "detail"} & set(doc)):
            return f"a {status} without message or detail: {body[:160]!r}"
    return ""
