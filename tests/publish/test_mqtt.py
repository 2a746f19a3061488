"""MqttSink against a real mosquitto and real paho subscribers."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.messages import StatsSnapshot, StreamStats
from edge.publish.config import SecretRef, SpoolConfig, TlsConfig
from tests.mqtt_broker import Broker, Subscriber, make_password_file, make_tls_files
from tests.publish.results import detection

RESULTS = "edge/dev1/+/+/predictions"
STATUS = "edge/dev1/status"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_every_result_arrives_once_in_order_with_its_payload(broker: Broker, make_sink, qos: int) -> None:
    sent = [detection(s, m, f) for f in range(40) for s in ("cam1", "cam2", "cam3") for m in ("detect", "pose")]
    with Subscriber(broker.port, [RESULTS], qos=qos).start() as sub:
        sink = make_sink(broker.port, qos=qos)
        for message in sent:
            sink.publish(message)
        assert sink.flush(15.0), f"not all acknowledged: {sink.counters()}"
        sub.wait_for(lambda msgs: len(msgs) >= len(sent), what=f"{len(sent)} results")
        got = sub.messages
    assert [m.json() for m in got if m.topic.startswith("edge/dev1/cam1/pose/")] == [
        json.loads(json.dumps(r.to_payload())) for r in sent if (r.stream, r.model) == ("cam1", "pose")
    ]
    for stream in ("cam1", "cam2", "cam3"):
        for model in ("detect", "pose"):
            frames = [m.json()["frame"] for m in got if m.topic == f"edge/dev1/{stream}/{model}/predictions"]
            assert frames == list(range(40)), (stream, model)
    counters = sink.counters()
    assert (counters.accepted, counters.published, counters.spooled, counters.inflight) == (240, 240, 0, 0)


def test_status_is_online_while_connected_and_offline_after_close(broker: Broker, make_sink) -> None:
    with Subscriber(broker.port, [STATUS]).start() as sub:
        sink = make_sink(broker.port)
        sub.wait_for(lambda msgs: [m.text for m in msgs] == ["online"], what="online")
        sink.close(timeout=3.0)
        sub.wait_for(lambda msgs: [m.text for m in msgs] == ["online", "offline"], what="offline after close")
    with Subscriber(broker.port, [STATUS]).start() as late:
        late.wait_for(lambda msgs: len(msgs) == 1, what="the retained status")
        assert (late.messages[0].text, late.messages[0].retain) == ("offline", True)


def test_stats_carry_pipeline_and_publisher_counters(broker: Broker, make_sink) -> None:
    with Subscriber(broker.port, ["edge/dev1/stats"]).start() as sub:
        sink = make_sink(broker.port)
        sink.publish(detection("cam1", "detect", 0))
        assert sink.flush(5.0)
        streams = {
            "cam1": StreamStats(30.0, 29.5, 3, 1, 0.012, 0.02, "running"),
            "cam2": StreamStats(0.0, 0.0, 0, 0, float("nan"), float("inf"), "connecting"),
        }
        sink.publish_stats(StatsSnapshot(1700000000.0, streams, {"detect": "ready"}))
        sub.wait_for(lambda msgs: len(msgs) == 1, what="a stats message")
    doc = json.loads(sub.messages[0].payload, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert doc["streams"]["cam1"]["fps_in"] == 30.0 and doc["models"] == {"detect": "ready"}
    assert (doc["streams"]["cam2"]["latency_p50"], doc["streams"]["cam2"]["latency_p95"]) == (None, None)
    assert doc["publisher"]["connected"] is True
    assert (doc["publisher"]["accepted"], doc["publisher"]["published"], doc["publisher"]["spooled"]) == (1, 1, 0)


def test_names_with_mqtt_wildcards_become_one_topic_level(broker: Broker, make_sink) -> None:
    with Subscriber(broker.port, ["edge/dev1/#"]).start() as sub:
        sink = make_sink(broker.port)
        sink.publish(detection("gate/1+#", "yolo v8", 7))
        sub.wait_for(lambda msgs: any(m.topic.endswith("predictions") for m in msgs), what="the result")
    (msg,) = sub.on("predictions")
    assert msg.topic == "edge/dev1/gate%2F1%2B%23/yolo v8/predictions"
    assert (msg.json()["stream"], msg.json()["model"]) == ("gate/1+#", "yolo v8")


def test_last_will_says_offline_when_the_publisher_process_is_killed(broker: Broker, publisher_process) -> None:
    with Subscriber(broker.port, ["edge/crashy/status"]).start() as sub:
        first = publisher_process("--port", str(broker.port), "--spool", str(broker.workdir / "spool"))
        assert first.read_line() == "accepted 0"
        sub.wait_for(lambda msgs: [m.text for m in msgs] == ["online"], what="online from the first process")
        first.kill()
        sub.wait_for(lambda msgs: [m.text for m in msgs] == ["online", "offline"], what="the last will")
        second = publisher_process("--port", str(broker.port), "--spool", str(broker.workdir / "spool"))
        assert second.read_line() == "accepted 0"
        sub.wait_for(lambda msgs: [m.text for m in msgs][-1:] == ["online"], what="online from the restart")
    assert [m.text for m in sub.messages] == ["online", "offline", "online"]


def test_full_spool_evicts_oldest_first_counts_and_logs_it(tmp_path: Path, make_sink, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="edge")
    broker = Broker(tmp_path / "broker")  # not started: the broker is down
    spool = SpoolConfig(tmp_path / "spool", max_bytes=64 * 1024)
    sink = make_sink(broker.port, spool=spool)
    slowest = 0.0
    for frame in range(200):
        t0 = time.perf_counter()
        sink.publish(detection("cam1", "detect", frame, pad=800))
        slowest = max(slowest, time.perf_counter() - t0)
    assert slowest < 0.1, f"publish() took {slowest:.3f} s with the broker down"
    counters = sink.counters()
    sink.close(timeout=2.0)
    assert counters.evicted > 0 and counters.evicted + counters.spooled == 200
    logged = [int(n) for n in re.findall(r"evicted (\d+) unpublished results", caplog.text)]
    assert sum(logged) == counters.evicted
    try:
        broker.start()
        with Subscriber(broker.port, [RESULTS]).start() as sub:
            again = make_sink(broker.port, spool=spool)
            assert again.flush(10.0)
            sub.wait_for(lambda msgs: len(msgs) >= counters.spooled, what="the results left in the spool")
    finally:
        broker.close()
    assert [m.json()["frame"] for m in sub.messages] == list(range(counters.evicted, 200))


def test_mutual_tls(tmp_path: Path, make_sink) -> None:
    tls = make_tls_files(tmp_path / "pki")
    stranger = make_tls_files(tmp_path / "other-pki", name="other")
    with Broker(tmp_path / "broker", tls=tls, require_certificate=True) as broker:
        with Subscriber(broker.port, [RESULTS], tls=tls).start() as sub:
            sink = make_sink(broker.port, tls=TlsConfig(ca=tls.ca, cert=tls.client_cert, key=tls.client_key))
            sink.publish(detection("cam1", "detect", 0))
            sub.wait_for(lambda msgs: len(msgs) == 1, what="a result over TLS")
            sink.close(timeout=2.0)
        untrusting = make_sink(broker.port, tls=TlsConfig(ca=stranger.ca, cert=tls.client_cert, key=tls.client_key))
        untrusting.publish(detection("cam1", "detect", 1))
        wait_until(lambda: untrusting.counters().connect_failures >= 1, 10.0, "a failed TLS handshake")
        counters = untrusting.counters()
        untrusting.close(timeout=1.0)
    assert (counters.connected, counters.published, counters.spooled) == (False, 0, 1)


def test_password_from_the_environment_is_used_and_never_logged(tmp_path: Path, make_sink, caplog, monkeypatch) -> None:
    caplog.set_level(logging.DEBUG, logger="edge")
    secret = "s3cr3t-Pa55word"
    monkeypatch.setenv("EDGE_TEST_MQTT_PASSWORD", secret)
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "mqtt").write_text("wrong-" + secret + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    passwd = make_password_file(tmp_path / "passwd", "edge", secret)
    with Broker(tmp_path / "broker", password_file=passwd) as broker:
        with Subscriber(broker.port, [RESULTS], username="edge", password=secret).start() as sub:
            sink = make_sink(broker.port, username="edge", password=SecretRef("env", "EDGE_TEST_MQTT_PASSWORD"))
            sink.publish(detection("cam1", "detect", 0))
            sub.wait_for(lambda msgs: len(msgs) == 1, what="a result from the authenticated publisher")
            refused = make_sink(broker.port, username="edge", password=SecretRef("credential", "mqtt"))
            wait_until(lambda: "refused the connection" in caplog.text, 10.0, "the refusal to be logged")
            sink.publish_stats(StatsSnapshot(0.0, {}, {}))
            sink.close(timeout=3.0)
            refused.close(timeout=1.0)
    assert "check mqtt.username and the password (credential mqtt)" in caplog.text
    assert secret not in caplog.text
    assert all(secret.encode() not in m.payload for m in sub.messages)
    assert secret not in repr(sink._config)


def test_results_that_cannot_be_spooled_are_counted_and_logged_not_raised(tmp_path: Path, make_sink, caplog) -> None:
    sink = make_sink(Broker(tmp_path / "down").port, spool=SpoolConfig(tmp_path / "spool", max_bytes=64 * 1024))
    sink.publish(detection("cam1", "detect", 0, pad=70_000))
    nan = detection("cam1", "detect", 1)
    nan.v1["predictions"][0]["confidence"] = float("nan")
    sink.publish(nan)
    sink.publish(detection("cam1", "detect", 2))
    counters = sink.counters()
    assert (counters.accepted, counters.rejected, counters.spooled) == (1, 2, 1)
    assert "cam1/detect #0 not published: a result of" in caplog.text
    assert "cam1/detect #1 not published: Out of range float values are not JSON compliant" in caplog.text
