"""The spool's record encoding fuzzed: any topic and payload round-trip; truncated or corrupted
segment and ack files never crash the reader, which keeps exactly the intact records before the
damage (``decode_record`` returns None for a torn or corrupt record)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edge.publish.records import MAGIC, SpoolRecord, decode_acks, decode_record, encode_ack, encode_record
from edge.publish.spool import Spool, SpoolError

TOPICS = st.text(max_size=300)  # any Unicode, slashes, wildcards, NUL, lone surrogates
PAYLOADS = st.binary(max_size=2048)


@given(st.integers(0, 2**64 - 1), TOPICS, PAYLOADS, st.floats(allow_nan=False))
@example(0, "", b"", 0.0)
@example(1, "\ud800", b"x", 1.0)  # a lone surrogate: not UTF-8, so refused at encoding
@example(2, "t" * 70_000, b"x", 1.0)  # over the u16 topic length: refused at encoding
def test_a_record_round_trips_or_is_refused_at_encoding(seq: int, topic: str, payload: bytes, at: float) -> None:
    try:
        data = encode_record(seq, topic, payload, at)
    except ValueError as exc:  # the documented refusal: a topic the format cannot hold
        assert "topic" in str(exc)
        return
    decoded = decode_record(b"junk" + data + b"tail", 4)
    assert decoded == (SpoolRecord(seq, topic, payload, at), 4 + len(data))


@given(st.lists(st.tuples(TOPICS, PAYLOADS), max_size=6), st.data())
def test_a_damaged_stream_of_records_decodes_to_a_prefix(records: list[tuple[str, bytes]], data: st.DataObject) -> None:
    encoded = [encode_record(i, t, p, float(i)) for i, (t, p) in enumerate(records) if _encodable(t)]
    blob = bytearray(b"".join(encoded))
    damage = data.draw(st.sampled_from(["cut", "flip", "insert", "none"]))
    at = data.draw(st.integers(0, max(len(blob) - 1, 0)))
    if damage == "cut":
        del blob[at:]
    elif damage == "flip" and blob:
        blob[at] ^= data.draw(st.integers(1, 255))
    elif damage == "insert":
        blob[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    out, pos = [], 0
    while (decoded := decode_record(bytes(blob), pos)) is not None:
        out.append(decoded[0])
        pos = decoded[1]
    originals = [decode_record(e, 0) for e in encoded]
    assert [o[0] for o in originals if o][: len(out)] == out, "a damaged stream decoded to something else"


def _encodable(topic: str) -> bool:
    try:
        topic.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@given(st.binary(max_size=256), st.integers(0, 300))
def test_decode_record_never_raises_on_arbitrary_bytes(blob: bytes, pos: int) -> None:
    decoded = decode_record(blob, pos)
    assert decoded is None or decoded[1] <= len(blob)


@given(st.binary(max_size=256))
def test_decode_acks_keeps_only_the_intact_prefix(blob: bytes) -> None:
    seqs, good = decode_acks(blob)
    assert good == 12 * len(seqs) and good <= len(blob)
    assert blob[:good] == b"".join(encode_ack(s) for s in seqs)


@settings(max_examples=min(settings().max_examples, 60))  # each example opens a spool twice
@given(st.lists(st.tuples(st.text(max_size=40).filter(_encodable), PAYLOADS), min_size=1, max_size=5), st.data())
def test_a_spool_reopened_on_damaged_files_never_crashes(records: list[tuple[str, bytes]], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with Spool(directory, 1 << 20, sync_interval=3600) as spool:  # no fsync: the kernel has it
            for topic, payload in records:
                spool.append(topic, payload)
            spool.ack(0)
        target = data.draw(st.sampled_from(sorted(p.name for p in directory.iterdir() if p.name != "lock")))
        blob = bytearray((directory / target).read_bytes())
        at = data.draw(st.integers(0, len(blob)))
        if data.draw(st.booleans()):
            del blob[at:]
        else:
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=32))
        (directory / target).write_bytes(bytes(blob))
        try:
            reopened = Spool(directory, 1 << 20, sync_interval=3600)
        except SpoolError as exc:  # only a segment whose 8-byte magic was damaged
            assert target.endswith(".seg") and not bytes(blob).startswith(MAGIC), exc
            return
        with reopened:
            got = reopened.read(100)
        # What survives is the records as written, in order (a damaged ack only publishes one again).
        assert [r.seq for r in got] == sorted({r.seq for r in got})
        assert all((r.topic, r.payload) == records[r.seq] for r in got)


@pytest.mark.parametrize("topic", ["\ud800", "t" * 65_536])
def test_the_spool_refuses_a_topic_it_cannot_store_with_its_own_error(tmp_path: Path, topic: str) -> None:
    with Spool(tmp_path, 1 << 20, sync_interval=0) as spool:
        with pytest.raises(SpoolError, match="topic"):
            spool.append(topic, b"x")
        assert spool.append("ok", b"x") == 0  # and goes on
