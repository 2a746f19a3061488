"""The device endpoints on a real daemon running the detector on a fixture clip."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.serve.helpers import DETECT, Served, request, serve, wait_for

KEY = "web-test-key-5c1e"
PASSWORD = "mqtt-pw-8d2f"


def _config(clip: Path, extra: str = "") -> str:
    return (
        f"models:\n  det: {{path: {DETECT}}}\n"
        f"streams:\n  cam: {{uri: '{clip}', models: [det]}}\n"
        "mqtt: {host: 127.0.0.1, port: 1, username: bob, password: {env: EDGE_WEB_TEST_PASSWORD}}\n"
        f"http: {{port: 0{extra}}}\n"
    )


@pytest.fixture(scope="module")
def served(clip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from edge.demo.clip import ClipKind, ClipSpec
    from tests.clips import clip

    os.environ["EDGE_WEB_TEST_PASSWORD"] = PASSWORD  # read by the MQTT sink, never shown
    path = clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=320, height=240, fps=15.0, frames=30, seed=11))
    state = tmp_path_factory.mktemp("state")
    run = serve(_config(path) + f"state_dir: {state}\n")
    wait_for(lambda: request(run.url + "/api/streams/cam/latest.json").status == 200, 30)
    yield run
    run.finish()


def test_streams_lists_the_stream_its_state_and_models(served: Served) -> None:
    answer = request(served.url + "/api/streams")
    assert answer.status == 200
    cam = answer.json()["streams"]["cam"]
    assert set(cam["models"]) == {"det"} and cam["state"] in ("running", "ended")


def test_status_has_the_stats_and_the_publisher(served: Served) -> None:
    doc = request(served.url + "/api/status").json()
    assert set(doc["streams"]["cam"]) >= {"fps_in", "fps_out", "dropped", "state", "error"}
    assert doc["models"]["det"] and doc["publisher"]["connected"] is False
    assert isinstance(doc["spool_depth"], int)


def test_the_picture_and_the_documents_are_of_the_same_frame(served: Served) -> None:
    jpg = request(served.url + "/api/streams/cam/latest.jpg")
    assert jpg.status == 200 and jpg.headers["content-type"] == "image/jpeg"
    frame = int(jpg.headers["x-edge-frame"])
    doc = request(served.url + f"/api/streams/cam/latest.json?frame={frame}")
    assert doc.status == 200 and doc.headers["x-edge-frame"] == str(frame)
    body = doc.json()
    assert body["frame"] == frame and body["results"]["det"]["frame"] == frame
    assert body["results"]["det"]["image"] == {"width": 320, "height": 240}
    image = cv2.imdecode(np.frombuffer(jpg.body, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)


def test_height_quality_and_switches_change_the_picture(served: Served) -> None:
    wait_for(lambda: request(served.url + "/api/streams").json()["streams"]["cam"]["state"] == "ended", 30)
    base = served.url + "/api/streams/cam/latest.jpg"
    small = request(base + "?height=120&quality=50")
    assert small.status == 200
    assert cv2.imdecode(np.frombuffer(small.body, np.uint8), cv2.IMREAD_COLOR).shape == (120, 160, 3)
    drawn = request(base + "?quality=100").body
    bare = request(base + "?quality=100&boxes=false&labels=false&masks=false&keypoints=false").body
    assert drawn != bare


def test_a_stream_that_ended_serves_its_last_frame_marked_offline(served: Served) -> None:
    wait_for(lambda: request(served.url + "/api/streams").json()["streams"]["cam"]["state"] == "ended", 30)
    answer = request(served.url + "/api/streams/cam/latest.jpg")
    assert answer.status == 200 and answer.headers["x-edge-offline"] == "1"
    # The last frame answered: 29 unless a loaded machine dropped the clip's last frames.
    assert int(answer.headers["x-edge-frame"]) == max(served.sink.frames("cam", "det"))


@pytest.mark.parametrize("query", ["?colour=red", "?height=abc", "?quality=0", "?boxes=maybe"])
def test_an_unknown_or_bad_parameter_is_a_400(served: Served, query: str) -> None:
    for name in ("latest.jpg", "latest.json"):
        answer = request(served.url + f"/api/streams/cam/{name}{query}")
        assert answer.status == 400 and answer.headers["content-type"] == "application/json"
        assert answer.json()["message"]


def test_an_unknown_stream_is_a_404(served: Served) -> None:
    answer = request(served.url + "/api/streams/nope/latest.jpg")
    assert answer.status == 404 and "nope" in answer.json()["message"]


def test_the_config_has_no_secret(served: Served) -> None:
    answer = request(served.url + "/api/config")
    assert answer.status == 200
    doc = answer.json()
    assert doc["streams"][0]["models"] == ["det"]
    text = answer.body.decode()
    assert doc["mqtt"]["password"] == "***" and "EDGE_WEB_TEST_PASSWORD" not in text and PASSWORD not in text


def test_api_keys_are_required_when_set(short_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_WEB_KEY", KEY)
    monkeypatch.setenv("EDGE_WEB_TEST_PASSWORD", PASSWORD)
    run = serve(_config(short_clip, ", api_keys: [{env: EDGE_WEB_KEY}]") + f"state_dir: {tmp_path}\n")
    try:
        for path in ("/api/streams", "/api/status", "/api/config", "/api/streams/cam/latest.jpg"):
            answer = request(run.url + path)
            assert answer.status == 401 and "Unauthorized" in answer.json()["message"]
            assert request(run.url + path + "?api_key=wrong").status == 401
        assert request(run.url + "/api/streams", headers={"Authorization": f"Bearer {KEY}"}).status == 200
        config = request(run.url + f"/api/config?api_key={KEY}")
        assert config.status == 200 and KEY not in config.body.decode()
        assert json.loads(config.body)["http"]["api_keys"] == "***"
    finally:
        run.finish()


def test_the_picture_threads_end_with_the_server(
    short_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    def pictures() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("edge-picture")]

    monkeypatch.setenv("EDGE_WEB_TEST_PASSWORD", PASSWORD)
    before = set(pictures())
    run = serve(_config(short_clip) + f"state_dir: {tmp_path}\n")
    try:
        wait_for(lambda: request(run.url + "/api/streams/cam/latest.jpg?quality=50").status == 200, 30)
        assert set(pictures()) - before, "a picture is drawn on the picture threads"
    finally:
        run.finish()
    wait_for(lambda: not set(pictures()) - before, 10)
