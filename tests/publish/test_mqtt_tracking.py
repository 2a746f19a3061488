"""Tracking over MQTT: events one message each, counters retained, both through the spool."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from edge.publish.config import SpoolConfig
from edge.publish.records import SpoolRecord, decode_record, encode_record
from edge.publish.spool import Spool
from edge.tracking.events import Event
from edge.tracking.output import TrackingOutput
from tests.mqtt_broker import Broker, Subscriber

EVENTS = "edge/dev1/door/events"
COUNTERS = "edge/dev1/door/+/+/+"


def cross(tid: int) -> Event:
    return Event("line.cross", 10.0 + tid, tid, "person", "local", MappingProxyType({"line": "mid", "direction": "in"}))


def out(*events: Event, **counters: object) -> TrackingOutput:
    return TrackingOutput("door", "det", events, {k.replace("__", "/"): v for k, v in counters.items()})


def test_a_record_keeps_its_retain_flag_and_old_records_read_as_not_retained() -> None:
    for retain in (False, True):
        data = encode_record(7, "edge/dev1/door/lines/mid/person", b'{"in": 1}', 5.0, retain)
        decoded = decode_record(data, 0)
        assert decoded is not None and decoded[0] == SpoolRecord(
            7, "edge/dev1/door/lines/mid/person", b'{"in": 1}', 5.0, retain
        )
    # The layout before the flag existed, written out by hand: it must read unchanged.
    import struct
    import zlib

    topic = b"edge/dev1/cam/det/predictions"
    body = struct.pack("<QdH", 3, 1.5, len(topic)) + topic + b"{}"
    old = struct.pack("<II", len(body), zlib.crc32(body)) + body
    assert decode_record(old, 0) == (SpoolRecord(3, "edge/dev1/cam/det/predictions", b"{}", 1.5, False), len(old))


def test_the_spool_keeps_the_flag_across_a_reopen(tmp_path: Path) -> None:
    with Spool(tmp_path, 1 << 20) as spool:
        spool.append("a/b", b"1", retain=True)
        spool.append("a/c", b"2")
    with Spool(tmp_path, 1 << 20) as spool:
        assert [(r.topic, r.retain) for r in spool.read(10)] == [("a/b", True), ("a/c", False)]


def test_events_arrive_one_a_message_and_counters_retained(broker: Broker, make_sink) -> None:
    with Subscriber(broker.port, [EVENTS, COUNTERS]).start() as sub:
        sink = make_sink(broker.port)
        sink.publish_tracking(out(cross(1), cross(2), lines__mid__person={"in": 2, "out": 0}, zones__porch__all=1))
        assert sink.flush(10.0)
        sub.wait_for(lambda msgs: len(msgs) >= 4, what="2 events and 2 counters")
        got = sub.messages
    events = [m.json() for m in got if m.topic == EVENTS]
    assert [(e["type"], e["tracker_id"], e["stream"], e["model"]) for e in events] == [
        ("line.cross", 1, "door", "det"),
        ("line.cross", 2, "door", "det"),
    ]
    with Subscriber(broker.port, [COUNTERS]).start() as late:  # retained: a new subscriber gets them
        late.wait_for(lambda msgs: len(msgs) >= 2, what="the retained counters")
        values = {m.topic: (m.json(), m.retain) for m in late.messages}
    assert values == {
        "edge/dev1/door/lines/mid/person": ({"in": 2, "out": 0}, True),
        "edge/dev1/door/zones/porch/all": (1, True),
    }


def test_during_an_outage_the_broker_ends_with_the_latest_count(tmp_path: Path, make_sink) -> None:
    broker = Broker(tmp_path / "broker", persistence=False)
    sink = make_sink(broker.port, spool=SpoolConfig(tmp_path / "spool"))  # broker down: all spooled
    for n in range(1, 6):
        sink.publish_tracking(out(cross(n), lines__mid__person={"in": n, "out": 0}))
    broker.start()
    try:
        with Subscriber(broker.port, [EVENTS, COUNTERS]).start() as sub:
            assert sink.flush(15.0), sink.counters()
            sub.wait_for(lambda msgs: len([m for m in msgs if m.topic == EVENTS]) >= 5, what="5 events")
            counts = [m.json() for m in sub.messages if "lines" in m.topic]
        assert counts and counts[-1] == {"in": 5, "out": 0}  # older values in the spool were not sent after it
        broker.stop()  # without persistence the broker forgets what it retained...
        broker.start()
        with Subscriber(broker.port, [COUNTERS]).start() as late:  # ...and the sink sends it again on reconnect
            late.wait_for(lambda msgs: len(msgs) >= 1, timeout=15.0, what="the counter sent again")
            assert late.messages[-1].json() == {"in": 5, "out": 0}
    finally:
        broker.close()


def test_a_removed_counter_is_cleared_on_the_broker(broker: Broker, make_sink) -> None:
    sink = make_sink(broker.port)
    sink.publish_tracking(out(zones__gone__all=3))
    sink.publish_tracking(out(zones__gone__all=None))
    assert sink.flush(10.0)
    with Subscriber(broker.port, [COUNTERS]).start() as late:
        import time

        time.sleep(0.5)
        assert late.messages == []
