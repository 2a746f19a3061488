"""A model notice (a hosted fallback switched off by HTTP 402) on the status topic, end to end:
the real fallback against the v1 stand-in, a real MqttSink, mosquitto and a paho subscriber."""

from __future__ import annotations

import json
import time

import cv2

from edge.hosted.config import HostedConfig
from edge.hosted.fallback import HostedFallback, client_for
from edge.models import load_spec
from edge.publish.config import SecretRef
from edge.sources import Frame
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS
from tests.hosted_server import HostedStandIn
from tests.mqtt_broker import Broker, Subscriber

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
EXAMPLE = cv2.imread(str(FIXTURE_MODELS.parents[2] / "examples" / "images" / "shapes.jpg"))
NOTICES = "edge/dev1/status/#"


def test_a_402_turns_the_fallback_off_and_says_so_retained_on_the_status_topic(broker: Broker, make_sink) -> None:
    api = HostedStandIn({"shapes/1": DETECT}, api_key="sk-live-notice-key", always=402)
    sink = make_sink(broker.port)
    config = HostedConfig("shapes/1", SecretRef("env", "K"), api.url)
    spec = load_spec(DETECT)
    fb = HostedFallback(
        "cam/det",  # a name with a '/' is one topic level
        spec,
        config,
        client_for(config, spec, api.api_key),
        InferenceParams(),
        sink.publish,
        lambda m: None,
        lambda frames, why: None,
        notify=sink.publish_notice,
    )
    try:
        with Subscriber(broker.port, [NOTICES]).start() as sub:
            for seq in range(5):
                fb.offer(Frame("cam", seq, time.time(), EXAMPLE, time.perf_counter(), 0.0), "overflow")
                time.sleep(0.05)
            sub.wait_for(lambda msgs: any('"off"' in m.text for m in msgs), what="the off notice")
            docs = [(m.topic, m.json()) for m in sub.messages if m.topic != "edge/dev1/status"]
    finally:
        fb.close(timeout=5)
        api.close()
    assert 1 <= api.requests <= 2  # the first 402 switched it off (two request threads)
    assert [t for t, _ in docs] == ["edge/dev1/status/cam%2Fdet"] * 2
    assert [d["hosted"] for _, d in docs] == ["on", "off"]
    assert docs[1][1]["model"] == "cam/det" and docs[1][1]["reason"].startswith("HTTP 402: the workspace is out of")
    with Subscriber(broker.port, [NOTICES]).start() as late:  # retained: a dashboard that connects later sees it
        late.wait_for(lambda msgs: any(m.topic.endswith("cam%2Fdet") for m in msgs), what="the retained notice")
        retained = [m for m in late.messages if m.topic.endswith("cam%2Fdet")]
        assert retained[0].retain and retained[0].json()["hosted"] == "off"
    assert all(api.api_key not in json.dumps(d) for _, d in docs)
