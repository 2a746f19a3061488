"""The v1 route over plain HTTP: every way an image arrives, format=image, and every error."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import logging
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from edge.imageio import read_image
from edge.model import Model
from edge.tasks.params import InferenceParams
from tests.local_http import LocalServer
from tests.serve.helpers import DETECT, IMAGE, Served, multipart, request, serve, without_ids

KEY_VAR = "EDGE_TEST_SERVE_KEY"
KEY = "sk-serve-5ecret-key"
JPEG = IMAGE.read_bytes()
PNG = cv2.imencode(".png", read_image(IMAGE))[1].tobytes()


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
  image_urls: [127.0.0.0/8]
""")
        yield run
        run.finish()


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = JPEG if self.path == "/shapes.jpg" else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = LocalServer(Handler)
    yield server.url
    server.close()


def expected(confidence: float = 0.4) -> dict[str, object]:
    with Model.open(DETECT) as model:
        return without_ids(model.predict([read_image(IMAGE)], InferenceParams.from_hosted(confidence))[0].to_v1())


def url(device: Served, query: str = "") -> str:
    return f"{device.url}/det/1?api_key={KEY}{'&' + query if query else ''}"


FORMS = {
    "base64, as roboflow-python sends it": (base64.b64encode(JPEG), "application/x-www-form-urlencoded"),
    "base64 labelled JSON, as inference-sdk v0 sends it": (base64.b64encode(JPEG), "application/json"),
    "a data: URI": (b"data:image/jpeg;base64," + base64.b64encode(JPEG), "text/plain"),
    "raw JPEG bytes": (JPEG, "image/jpeg"),
    "raw PNG bytes": (PNG, "application/octet-stream"),
    "multipart with a file part": multipart("file", JPEG),
}


@pytest.mark.parametrize("form", list(FORMS))
def test_each_input_form_gets_the_answer_edge_infer_gives(device: Served, form: str) -> None:
    body, content_type = FORMS[form]
    answer = request(url(device), body, {"Content-Type": content_type})
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    doc = answer.json()
    assert list(doc)[:3] == ["inference_id", "time", "image"] and doc["time"] > 0
    assert without_ids(doc) == expected()


def test_an_image_url_is_downloaded_and_the_body_ignored(device: Served, image_server: str) -> None:
    answer = request(url(device, f"image={image_server}/shapes.jpg"), b"ignored", {"Content-Type": "text/plain"})
    assert answer.status == 200 and without_ids(answer.json()) == expected()
    missing = request(url(device, f"image={image_server}/nothing.jpg"), b"", {"Content-Type": "text/plain"})
    assert missing.status == 400 and "downloading it failed" in missing.json()["message"]


def test_parameters_use_the_hosted_scale_and_the_bearer_header_is_a_key(device: Served) -> None:
    body = base64.b64encode(JPEG)
    headers = {"Content-Type": "text/plain", "Authorization": f"Bearer {KEY}"}
    strict = request(f"{device.url}/det/1?confidence=90&disable_active_learning=False", body, headers)
    assert strict.status == 200 and without_ids(strict.json()) == expected(0.9)
    assert 0 < len(strict.json()["predictions"]) < len(expected()["predictions"])  # type: ignore[arg-type]
    capped = request(url(device, "max_detections=2"), body, {"Content-Type": "text/plain"})
    assert len(capped.json()["predictions"]) == 2


def test_format_image_answers_the_annotated_jpeg(device: Served) -> None:
    body, content_type = base64.b64encode(JPEG), "text/plain"
    plain = request(url(device, "format=image&stroke=1"), body, {"Content-Type": content_type})
    labelled = request(url(device, "format=image&labels=True&stroke=4"), body, {"Content-Type": content_type})
    assert plain.status == labelled.status == 200
    assert plain.headers["content-type"] == "image/jpeg"
    drawn = [cv2.imdecode(np.frombuffer(a.body, np.uint8), cv2.IMREAD_COLOR) for a in (plain, labelled)]
    source = read_image(IMAGE)
    assert all(d.shape == source.shape for d in drawn)
    changed = [int((np.abs(d.astype(int) - source).sum(axis=2) > 60).sum()) for d in drawn]
    assert 0 < changed[0] < changed[1]  # boxes drawn; thicker with labels on top


def test_format_image_and_json_adds_the_drawing_as_base64(device: Served) -> None:
    answer = request(url(device, "format=image_and_json"), base64.b64encode(JPEG), {"Content-Type": "text/plain"})
    doc = answer.json()
    assert answer.status == 200 and list(doc)[:2] == ["visualization", "inference_id"]
    drawn = cv2.imdecode(np.frombuffer(base64.b64decode(doc.pop("visualization")), np.uint8), cv2.IMREAD_COLOR)
    assert drawn.shape == read_image(IMAGE).shape and without_ids(doc) == expected()


BIG = b"A" * (5 * 1024 * 1024 + 10)
MULTI = multipart("upload", JPEG)
ERRORS = {
    # name: (query, body, headers, status, words in the message)
    "no Content-Type": ("", b"abc", {}, 400, "Content-Type header not provided"),
    "bad base64": ("", b"!!not base64!!", {"Content-Type": "text/plain"}, 400, "Invalid base64"),
    "not an image": ("", base64.b64encode(b"hello"), {"Content-Type": "text/plain"}, 400, "Could not load input image"),
    "multipart without file": ("", MULTI[0], {"Content-Type": MULTI[1]}, 400, "no part named 'file'"),
    "over 5 MB": ("", BIG, {"Content-Type": "text/plain"}, 413, "too large"),
    "bad confidence": ("confidence=abc", base64.b64encode(JPEG), {"Content-Type": "text/plain"}, 422, ""),
    "bad format": ("format=png", base64.b64encode(JPEG), {"Content-Type": "text/plain"}, 422, ""),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_answer_as_the_hosted_api_does(device: Served, case: str) -> None:
    query, body, headers, status, words = ERRORS[case]
    answer = request(url(device, query), body, headers, method="POST")
    assert answer.status == status, answer.body[:200]
    doc = answer.json()
    if status == 422:
        assert doc["detail"][0]["loc"][0] == "query"
    else:
        assert words in doc["message"]


def test_an_unknown_model_is_404(device: Served) -> None:
    answer = request(f"{device.url}/other/7?api_key={KEY}", base64.b64encode(JPEG), {"Content-Type": "text/plain"})
    assert answer.status == 404 and "not found" in answer.json()["message"]


def test_a_wrong_or_missing_key_is_401_and_never_logged(device: Served, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "sk-wrong-guess-123"
    with caplog.at_level(logging.DEBUG):
        bad = request(f"{device.url}/det/1?api_key={wrong}", base64.b64encode(JPEG), {"Content-Type": "text/plain"})
        none = request(f"{device.url}/det/1", base64.b64encode(JPEG), {"Content-Type": "text/plain"})
    assert bad.status == none.status == 401
    assert wrong.encode() not in bad.body and KEY.encode() not in bad.body
    assert wrong not in caplog.text and KEY not in caplog.text
    metrics = request(f"{device.url}/metrics").body.decode()
    assert KEY not in metrics and wrong not in metrics


def test_a_chunked_body_is_cut_off_at_5_mb(device: Served) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", int(device.url.rsplit(":", 1)[1]), timeout=30)
    chunks = (b"A" * (1024 * 1024) for _ in range(8))  # no Content-Length: the server counts
    headers = {"Content-Type": "text/plain", "Transfer-Encoding": "chunked"}
    try:
        conn.request("POST", f"/det/1?api_key={KEY}", chunks, headers, encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 413 and "too large" in json.loads(resp.read())["message"]
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection instead of answering 413")
    finally:
        conn.close()


def test_healthz_needs_no_key_and_shows_nothing_secret(device: Served) -> None:
    answer = request(f"{device.url}/healthz")
    assert answer.status == 200 and answer.json() == {"status": "ok"}
    assert KEY.encode() not in answer.body and KEY_VAR.encode() not in answer.body
