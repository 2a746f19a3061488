"""The spool's on-disk records and segment files (the format is described in :mod:`edge.publish.spool`)."""

from __future__ import annotations

import os
import struct
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path

MAGIC = b"EDGESPL1"
_PREFIX = struct.Struct("<II")  # length, crc32
_HEAD = struct.Struct("<QdH")  # seq, accepted_at, topic length
ACK = struct.Struct("<QI")  # seq, crc32 of the seq
# A topic field that starts with a 0 byte holds a flags byte next, then the topic. MQTT forbids
# U+0000 in topic names, so no record written before flags existed starts so: old spools read
# as they were, with every flag off.
_FLAGGED = 0x00
FLAG_RETAIN = 0x01


@dataclass(frozen=True)
class SpoolRecord:
    seq: int
    topic: str
    payload: bytes
    accepted_at: float
    retain: bool = False  # publish with the MQTT retain flag (tracking counters)


@dataclass(eq=False)
class Segment:
    base: int
    path: Path
    fd: int
    size: int = len(MAGIC)
    offsets: array[int] = field(default_factory=lambda: array("Q"))
    resolved: set[int] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.offsets)

    @property
    def end(self) -> int:
        return self.base + self.count

    @property
    def unresolved(self) -> int:
        return self.count - len(self.resolved)

    def record_length(self, index: int) -> int:
        nxt = self.offsets[index + 1] if index + 1 < self.count else self.size
        return nxt - self.offsets[index]


MAX_TOPIC = 65_535  # the u16 topic length; MQTT's own limit on a topic too


def encode_record(seq: int, topic: str, payload: bytes, accepted_at: float, retain: bool = False) -> bytes:
    """The record's bytes; ValueError for a topic the format cannot hold (not UTF-8, over 64 KB)."""
    try:
        t = topic.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the topic is not valid UTF-8 (it holds a lone surrogate)") from None
    if retain:  # the flag rides in front of the topic, inside its length
        t = bytes((_FLAGGED, FLAG_RETAIN)) + t
    if len(t) > MAX_TOPIC:
        raise ValueError(f"the topic is {len(t)} bytes, over MQTT's limit of {MAX_TOPIC}")
    body = _HEAD.pack(seq, accepted_at, len(t)) + t + payload
    return _PREFIX.pack(len(body), zlib.crc32(body)) + body


def decode_record(data: bytes | memoryview, pos: int) -> tuple[SpoolRecord, int] | None:
    """The record at ``pos`` and the position after it, or None if it is torn or corrupt."""
    if len(data) - pos < _PREFIX.size + _HEAD.size:
        return None
    length, crc = _PREFIX.unpack_from(data, pos)
    start = pos + _PREFIX.size
    if length < _HEAD.size or start + length > len(data) or zlib.crc32(data[start : start + length]) != crc:
        return None
    seq, accepted_at, tlen = _HEAD.unpack_from(data, start)
    t0 = start + _HEAD.size
    if t0 + tlen > start + length:
        return None
    raw = bytes(data[t0 : t0 + tlen])
    flags = 0
    if len(raw) >= 2 and raw[0] == _FLAGGED:
        flags, raw = raw[1], raw[2:]
    topic = raw.decode("utf-8", errors="replace")
    record = SpoolRecord(seq, topic, bytes(data[t0 + tlen : start + length]), accepted_at, bool(flags & FLAG_RETAIN))
    return record, start + length


def encode_ack(seq: int) -> bytes:
    return ACK.pack(seq, zlib.crc32(seq.to_bytes(8, "little")))


def decode_acks(data: bytes) -> tuple[list[int], int]:
    """The sequence numbers in an ack log, and how many bytes of it are intact."""
    seqs: list[int] = []
    good = 0
    for pos in range(0, len(data) - ACK.size + 1, ACK.size):
        seq, crc = ACK.unpack_from(data, pos)
        if zlib.crc32(data[pos : pos + 8]) != crc:
            break
        seqs.append(seq)
        good = pos + ACK.size
    return seqs, good


def read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, size, 0) if size else b""
