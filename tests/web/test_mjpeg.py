"""The live MJPEG stream: shared encoders per variant, none while nobody watches, bounded viewers."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.web.mjpeg import BOUNDARY, MAX_VIEWERS
from tests.serve.helpers import DETECT, Served, request, serve, wait_for


@pytest.fixture(scope="module")
def served(short_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state = tmp_path_factory.mktemp("state")
    text = (
        f"models:\n  det: {{path: {DETECT}}}\n"
        f"streams:\n  cam: {{uri: '{short_clip}', models: [det]}}\n"
        f"http: {{port: 0}}\nstate_dir: {state}\n"
    )
    run = serve(text)
    wait_for(lambda: request(run.url + "/api/streams/cam/latest.json").status == 200, 30)
    yield run
    run.finish()


def _open(served: Served, query: str = "") -> http.client.HTTPResponse:
    port = int(served.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/streams/cam/mjpeg" + query)
    return conn.getresponse()


def _first_part(resp: http.client.HTTPResponse) -> tuple[dict[str, str], bytes]:
    assert resp.readline().strip() == f"--{BOUNDARY}".encode()
    headers: dict[str, str] = {}
    while (line := resp.readline().strip()) != b"":
        key, value = line.decode().split(":", 1)
        headers[key.lower()] = value.strip()
    return headers, resp.read(int(headers["content-length"]))


def _mjpeg_stats(served: Served) -> dict[str, int]:
    stats: dict[str, int] = request(served.url + "/api/status").json()["mjpeg"]
    return stats


def test_viewers_of_one_variant_share_one_encoder_and_none_runs_after(served: Served) -> None:
    assert _mjpeg_stats(served) == {"viewers": 0, "encoders": 0}  # nothing encoded while nobody watches
    with ExitStack() as stack:
        responses = [stack.enter_context(_open(served, "?height=120")) for _ in range(2)]
        for resp in responses:
            assert resp.status == 200 and resp.getheader("content-type", "").startswith("multipart/x-mixed-replace")
            headers, jpeg = _first_part(resp)
            assert headers["content-type"] == "image/jpeg" and int(headers["x-edge-frame"]) >= 0
            assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape[0] == 120
        assert _mjpeg_stats(served) == {"viewers": 2, "encoders": 1}
        other = stack.enter_context(_open(served, "?labels=false"))
        _first_part(other)
        assert _mjpeg_stats(served) == {"viewers": 3, "encoders": 2}
    wait_for(lambda: _mjpeg_stats(served) == {"viewers": 0, "encoders": 0}, 10)


def test_viewers_are_bounded(served: Served) -> None:
    with ExitStack() as stack:
        for _ in range(MAX_VIEWERS):
            _first_part(stack.enter_context(_open(served)))
        refused = request(served.url + "/api/streams/cam/mjpeg")
        assert refused.status == 503 and refused.headers["retry-after"] == "5"
    wait_for(lambda: _mjpeg_stats(served)["viewers"] == 0, 10)


def test_bad_parameters_and_streams(served: Served) -> None:
    assert request(served.url + "/api/streams/cam/mjpeg?frame=3").status == 400
    assert request(served.url + "/api/streams/cam/mjpeg?fps=3").status == 400
    assert request(served.url + "/api/streams/nope/mjpeg").status == 404
