from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from edge.hosted.client import HostedClient, HostedError, encode
from edge.hosted.resize import Fit, to_frame
from edge.tasks.boxes import box_iou
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS, assert_v1_valid
from tests.hosted_server import HostedStandIn

EXAMPLE = cv2.imread(str(FIXTURE_MODELS.parents[2] / "examples" / "images" / "shapes.jpg"))


@pytest.fixture(scope="module")
def server() -> Iterator[HostedStandIn]:
    s = HostedStandIn(
        {
            "shapes/1": FIXTURE_MODELS / "shapes-detect.onnx",
            "shapes-seg/2": FIXTURE_MODELS / "shapes-segment.onnx",
            "shapes-pose/3": FIXTURE_MODELS / "shapes-pose.onnx",
            "shapes-sem/4": FIXTURE_MODELS / "shapes-semantic.onnx",
        }
    )
    yield s
    s.close()


def client(server: HostedStandIn, model: str = "shapes/1", key: str = "test-key-123", **kw: float) -> HostedClient:
    return HostedClient(server.url, model, key, **kw)  # type: ignore[arg-type]


def test_a_frame_comes_back_as_the_hosted_v1_document(server: HostedStandIn) -> None:
    doc = client(server).infer(EXAMPLE, InferenceParams(confidence=0.5, overlap=0.3))
    assert_v1_valid(doc, "object-detection")
    assert doc["image"] == {"width": 640, "height": 480} and len(doc["predictions"]) >= 3
    seen = server.seen[-1]
    assert seen.path == "/shapes/1" and seen.content_type == "application/x-www-form-urlencoded"
    assert seen.params["confidence"] == "0.5" and seen.params["overlap"] == "0.3" and "api_key" not in seen.params
    seg = client(server, "shapes-seg/2").infer(EXAMPLE, InferenceParams())
    assert_v1_valid(seg, "instance-segmentation")


@pytest.mark.parametrize(
    ("failures", "ok"),
    [([503], True), ([429, 504], True), ([503, 503, 503], False)],
    ids=["one-503", "429-then-504", "three-503s"],
)
def test_busy_answers_are_retried_twice(server: HostedStandIn, failures: list[int], ok: bool) -> None:
    server.fail.extend(failures)
    c = client(server, retries=2)
    if ok:
        assert c.infer(EXAMPLE, InferenceParams())["predictions"]
    else:
        with pytest.raises(HostedError, match=r"HTTP 503: stand-in failure 503 \(gave up after 3 attempts\)"):
            c.infer(EXAMPLE, InferenceParams())
    assert not server.fail


@pytest.mark.parametrize(("status", "says"), [(400, "HTTP 400"), (402, "HTTP 402"), (500, "HTTP 500")])
def test_other_errors_are_not_retried(server: HostedStandIn, status: int, says: str) -> None:
    server.fail.extend([status, 200])
    with pytest.raises(HostedError, match=says) as info:
        client(server).infer(EXAMPLE, InferenceParams())
    assert info.value.status == status and server.fail  # the second answer was never asked for
    server.fail.clear()


def test_a_wrong_key_is_one_line_without_the_key(server: HostedStandIn, caplog: pytest.LogCaptureFixture) -> None:
    secret = "not-the-key-987"
    with pytest.raises(HostedError) as info:
        client(server, key=secret).infer(EXAMPLE, InferenceParams())
    text = str(info.value)
    assert "HTTP 401" in text and "check API key" in text and "\n" not in text
    assert secret not in text and secret not in caplog.text


def test_no_server_is_an_error_after_retries(server: HostedStandIn) -> None:
    c = HostedClient("http://127.0.0.1:9", "shapes/1", "k", timeout=0.5, retries=1)
    with pytest.raises(HostedError, match="no answer") as info:
        c.infer(EXAMPLE, InferenceParams())
    assert info.value.status is None


def test_large_frames_are_shrunk_to_the_limit_and_answers_scaled_back(server: HostedStandIn) -> None:
    big = cv2.resize(EXAMPLE, (1920, 1440), interpolation=cv2.INTER_NEAREST)
    enc = encode(big, limit=200_000)
    assert len(enc.body) <= 200_000 and enc.size.resized and enc.size.sent_width < 1920
    doc = {
        "image": {"width": 100, "height": 50},
        "predictions": [{"x": 10.0, "y": 5.0, "width": 4.0, "height": 2.0, "points": [{"x": 1.0, "y": 2.0}]}],
    }
    out = to_frame(doc, Fit(200, 100, 100, 50))
    assert out["image"] == {"width": 200, "height": 100}
    p = out["predictions"][0]
    assert (p["x"], p["y"], p["width"], p["height"], p["points"][0]) == (20.0, 10.0, 8.0, 4.0, {"x": 2.0, "y": 4.0})
    assert doc["predictions"][0]["x"] == 10.0  # the input is left as it was


def test_nothing_is_logged_with_the_key(server: HostedStandIn, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        client(server).infer(EXAMPLE, InferenceParams())
    assert "test-key-123" not in caplog.text


def boxes(doc: dict) -> tuple[np.ndarray, list[str]]:
    preds = sorted(doc["predictions"], key=lambda p: (p["class"], p["x"]))
    xyxy = [[p["x"] - p["width"] / 2, p["y"] - p["height"] / 2, p["x"] + p["width"] / 2, p["y"] + p["height"] / 2]
            for p in preds]  # fmt: skip
    return np.array(xyxy, dtype=np.float64), [p["class"] for p in preds]


@pytest.mark.parametrize(
    ("model", "task"),
    [
        ("shapes/1", "object-detection"),
        ("shapes-seg/2", "instance-segmentation"),
        ("shapes-pose/3", "keypoint-detection"),
    ],
)
def test_uploads_fit_the_models_input_and_answers_land_in_frame_pixels(
    server: HostedStandIn, model: str, task: str
) -> None:
    params = InferenceParams(confidence=0.5, overlap=0.3)
    full = client(server, model).infer(EXAMPLE, params)
    full_seen = server.seen[-1]
    small = HostedClient(server.url, model, "test-key-123", upload_size=(320, 320)).infer(EXAMPLE, params)
    seen = server.seen[-1]
    assert (full_seen.width, full_seen.height) == (640, 480)
    assert (seen.width, seen.height) == (320, 240) and seen.body_bytes < full_seen.body_bytes / 2  # aspect kept
    assert_v1_valid(small, task)
    assert small["image"] == {"width": 640, "height": 480}
    (a, ca), (b, cb) = boxes(full), boxes(small)
    assert ca == cb and len(ca) >= 3
    # The server rounds corners to whole pixels of the image it received: 2 frame pixels here.
    # Within that (and JPEG noise) the boxes agree; IoU >= 0.99 would need boxes of ~300+ px.
    assert np.abs(a - b).max() <= 2 * 1.5 + 0.5
    assert np.diag(box_iou(a, b)).mean() >= 0.95
    if task == "instance-segmentation":  # polygons come back in frame pixels too
        for p in small["predictions"]:
            xs = [pt["x"] for pt in p["points"]]
            assert min(xs) >= p["x"] - p["width"] / 2 - 2 and max(xs) <= p["x"] + p["width"] / 2 + 2
    if task == "keypoint-detection":
        far = [pt["x"] for p in small["predictions"] for pt in p["keypoints"]]
        assert far and max(far) > 320  # in the frame's 640 px, not the upload's 320


def test_a_semantic_mask_comes_back_at_the_frames_size_with_class_ids_kept(server: HostedStandIn) -> None:
    full = client(server, "shapes-sem/4").infer(EXAMPLE, InferenceParams())
    small = HostedClient(server.url, "shapes-sem/4", "test-key-123", upload_size=(192, 192)).infer(
        EXAMPLE, InferenceParams()
    )
    assert (server.seen[-1].width, server.seen[-1].height) == (192, 144)
    masks = [mask_of(d) for d in (full, small)]
    assert masks[0].shape == masks[1].shape == (480, 640)
    assert set(np.unique(masks[1])) <= set(np.unique(masks[0]))  # nearest neighbour: no blended ids
    assert (masks[0] == masks[1]).mean() >= 0.97


def mask_of(doc: dict) -> np.ndarray:
    data = doc["segmentation_mask"] if "segmentation_mask" in doc else doc["predictions"]["segmentation_mask"]
    return cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_UNCHANGED)


def test_each_thread_reuses_one_connection_across_many_requests(server: HostedStandIn) -> None:
    c = HostedClient(server.url, "shapes/1", "test-key-123", upload_size=(320, 320))
    before = server.connections
    errors: list[BaseException] = []

    def many() -> None:
        try:
            for _ in range(8):
                c.infer(EXAMPLE, InferenceParams())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=many) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert server.connections - before == 2  # 16 requests, one connection per thread


def test_a_413_shrinks_once_and_retries(server: HostedStandIn) -> None:
    full = len(encode(EXAMPLE).body)
    server.max_body = full - 1  # the frame at full size is refused; half its sides fit
    try:
        doc = client(server).infer(EXAMPLE, InferenceParams())
        assert doc["image"] == {"width": 640, "height": 480} and (server.seen[-1].width, server.seen[-1].height) == (
            320,
            240,
        )
        server.max_body = 100  # nothing fits: one shrink, then the error
        before = server.requests
        with pytest.raises(HostedError, match="HTTP 413") as info:
            client(server).infer(EXAMPLE, InferenceParams())
        assert info.value.status == 413 and server.requests - before == 2
    finally:
        server.max_body = 5 * 1024 * 1024


def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error(server: HostedStandIn) -> None:
    c = client(server)
    server.drop_idle = True
    try:
        c.infer(EXAMPLE, InferenceParams())
        before = (server.connections, server.requests)
        for _ in range(3):  # each finds its connection closed, reconnects and sends again
            assert c.infer(EXAMPLE, InferenceParams())["predictions"]
        assert (server.connections - before[0], server.requests - before[1]) == (3, 3)
    finally:
        server.drop_idle = False
