from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import pytest

from edge.errors import EdgeError
from edge.hosted.config import HostedConfig
from edge.hosted.fallback import HostedFallback, check_v1, client_for
from edge.messages import ModelNotice, ResultMessage
from edge.models import load_spec
from edge.publish.config import SecretRef
from edge.sources import Frame
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS
from tests.hosted_server import HostedStandIn


@pytest.mark.parametrize(
    ("model", "doc"),
    [
        ("shapes-detect.onnx", {"image": {"width": 4, "height": 4}, "predictions": [{"x": 1}]}),  # no width, class
        ("shapes-classify.onnx", {"image": {"width": 4, "height": 4}}),  # no predictions
        ("shapes-segment.onnx", {"predictions": []}),  # no image
    ],
)
def test_answers_that_are_not_the_tasks_v1_shape_are_refused(model: str, doc: dict) -> None:
    with pytest.raises((EdgeError, KeyError, ValueError, TypeError)):
        check_v1(load_spec(FIXTURE_MODELS / model), doc)


def test_a_real_v1_answer_passes() -> None:
    spec = load_spec(FIXTURE_MODELS / "shapes-detect.onnx")
    doc = {
        "image": {"width": 64, "height": 48},
        "predictions": [
            {"x": 10.0, "y": 10.0, "width": 4.0, "height": 4.0, "confidence": 0.9, "class": "circle", "class_id": 0}
        ],
    }
    check_v1(spec, doc)


# -- the fallback against the stand-in: the breaker and the off switch ----------------------------

EXAMPLE = cv2.imread(str(FIXTURE_MODELS.parents[2] / "examples" / "images" / "shapes.jpg"))
DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


@pytest.fixture()
def api() -> Iterator[HostedStandIn]:
    server = HostedStandIn({"shapes/1": DETECT})
    yield server
    server.close()


@dataclass
class Outcomes:
    published: list[ResultMessage] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notices: list[ModelNotice] = field(default_factory=list)


def fallback(api: HostedStandIn, out: Outcomes, key: str | None = None, **cfg: Any) -> HostedFallback:
    config = HostedConfig("shapes/1", SecretRef("env", "K"), api.url, **cfg)
    spec = load_spec(DETECT)
    client = client_for(config, spec, key or api.api_key)
    return HostedFallback(
        "det",
        spec,
        config,
        client,
        InferenceParams(),
        out.published.append,
        lambda m: None,
        lambda frames, why: out.failed.extend(why for _ in frames),
        notify=out.notices.append,
    )


def offer_for(fb: HostedFallback, seconds: float, fps: float = 30.0) -> int:
    """Offer a live stream's frames for ``seconds``; the number the fallback took."""
    taken, seq, end = 0, 0, time.monotonic() + seconds
    while time.monotonic() < end:
        frame = Frame("cam", seq, time.time(), EXAMPLE, time.perf_counter(), 0.0)
        taken += fb.offer(frame, "overflow")
        seq += 1
        time.sleep(1 / fps)
    return taken


def test_an_api_that_always_answers_503_gets_the_breaker_failures_then_rare_probes(
    api: HostedStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    api.always = 503  # with Retry-After: 0, so only the breaker holds the client back
    out = Outcomes()
    fb = fallback(api, out, max_rate=50.0, retries=2, breaker_failures=3, breaker_pause=0.5)
    with caplog.at_level(logging.INFO, "edge.hosted"):
        offer_for(fb, 3.2)
        fb.close(timeout=5)
    # Probes 0.5, 1.5 and 3.5 s after the breaker opened (the pause doubles): two fit in 3.2 s,
    # one on a slow machine. Two request threads may each have one in flight as it opens.
    assert 3 + 1 <= api.requests <= 3 + 1 + 2, api.requests
    stats = fb.stats()
    assert stats.sent == api.requests and stats.failed == {"503": api.requests} and stats.breaker == "open"
    lines = [r.getMessage() for r in caplog.records]
    assert sum("breaker open after failed requests (last: HTTP 503)" in line for line in lines) == 1
    probes = sum("probe failed (HTTP 503); breaker open for" in line for line in lines)
    assert probes in (1, 2) and sum("breaker half-open: one probe" in line for line in lines) == probes


def test_a_401_stops_every_request_for_the_model(api: HostedStandIn, caplog: pytest.LogCaptureFixture) -> None:
    out = Outcomes()
    fb = fallback(api, out, key="wrong-key-456", max_rate=50.0)
    with caplog.at_level(logging.INFO, "edge.hosted"):
        taken = offer_for(fb, 1.0)
        fb.close(timeout=5)
    assert 1 <= api.requests <= 2  # the second request thread's, if already in flight
    assert taken <= 3 and fb.stats().state == "off: HTTP 401"  # later frames are refused at once
    assert [(n.state, n.reason.split(":")[0]) for n in out.notices] == [("on", ""), ("off", "HTTP 401")]
    assert "wrong-key-456" not in caplog.text + " ".join(out.failed) + repr(out.notices) + repr(fb.stats())


def test_retries_count_against_max_rate(api: HostedStandIn) -> None:
    api.always = 503
    out = Outcomes()
    fb = fallback(api, out, max_rate=2.0, retries=5, breaker_failures=100)
    t0 = time.monotonic()
    offer_for(fb, 2.0)
    sent, elapsed = api.requests, time.monotonic() - t0
    fb.close(timeout=5, drain=False)
    # A burst of 2, then 2 per second, retries included (without the limit: one every few ms).
    assert 2 <= sent <= 2 + 2 * elapsed + 1, (sent, elapsed, fb.stats())


def test_many_requests_share_one_connection_per_thread_and_fit_the_model(api: HostedStandIn) -> None:
    out = Outcomes()
    fb = fallback(api, out, max_rate=20.0)
    offer_for(fb, 1.5)
    fb.close(timeout=10)
    assert len(out.published) == api.requests >= 20 and not out.failed
    assert api.connections <= 2  # two request threads, each on its own keep-alive connection
    assert {(s.width, s.height) for s in api.seen} == {(320, 240)}  # the 640x480 frame, at the 320 input
    assert all(m.v1["image"] == {"width": 640, "height": 480} for m in out.published)
    stats = fb.stats()
    assert stats.sent == stats.answered == api.requests and stats.upload_bytes_mean < 40_000
