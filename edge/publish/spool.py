"""A durable, crash-safe, append-only queue of results on disk: the MQTT publisher's spool.

Why segment files and not sqlite3: the workload is a FIFO (append at the tail, acknowledge near
the head) on a Jetson's eMMC or SD card. Append-only files write each result once, sequentially;
the size bound is exact (it is the sum of the file sizes, with no pages that only a VACUUM
would return); eviction of the oldest results is one unlink; and recovery is a read of the files
with a CRC per record, simple enough to test by cutting a file anywhere. sqlite3 would do it
too, but would write each result two or three times (WAL, checkpoint, then the delete) and hide
the size bound behind its page allocator.

Layout of the spool directory:

``<first seq, 20 digits>.seg``
    Segment files. ``EDGESPL1`` then records, each
    ``u32 length | u32 crc32 | u64 seq | f64 accepted_at | u16 topic length | topic | payload``
    (little-endian; ``length`` and the CRC cover everything after the CRC). A topic field
    starting with a 0 byte holds ``0 | flags`` before the topic (bit 0: retain); MQTT topics
    never contain U+0000, so spools written before flags existed read unchanged. Sequence numbers
    are consecutive within a segment and increase across segments and restarts.
``acks.log``
    The sequence numbers that left the spool (acknowledged by the broker, or expired):
    ``u64 seq | u32 crc32`` each, compacted when mostly stale.
``lock``
    An advisory lock (``flock``) so two processes never share a spool.

Durability. Every append and ack is an unbuffered ``write()`` before the call returns, so a
killed process (SIGKILL, OOM, crash) loses nothing it spooled: the data is in the kernel.
Against power loss the files are fsynced every ``sync_interval`` seconds (0: on every write, at
the cost of flash wear and a few ms per result), so a power cut loses at most that window. On
open, a torn or corrupt record (bad length or CRC) ends its segment: it and anything after it
in that file are dropped and logged; everything before is kept. A lost ack only means the
result is published again (at-least-once).

Bounds. ``max_bytes`` bounds the segment files (the ack log adds 12 bytes per spooled result at
most). When an append would exceed it, whole segments are deleted oldest first, each about
1/16 of ``max_bytes``; the unpublished results they held are counted as evicted and logged.
Results older than ``max_age`` seconds are dropped when read, counted as expired.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError
from edge.fsutil import fsync_dir
from edge.publish.records import (
    ACK,
    MAGIC,
    Segment,
    SpoolRecord,
    decode_acks,
    decode_record,
    encode_ack,
    encode_record,
    read_all,
)

__all__ = ["Spool", "SpoolError", "SpoolRecord", "SpoolStats"]

log = logging.getLogger(__name__)

_ACKS = "acks.log"
_SUFFIX = ".seg"
_MAX_RECORD = 256 * 1024 * 1024 - 64  # what one MQTT packet can carry


class SpoolError(EdgeError):
    """The spool cannot take a result (too large, disk failing) or cannot be opened."""


@dataclass(frozen=True)
class SpoolStats:
    pending: int  # results on disk not yet acknowledged
    bytes: int  # size of the segment files
    evicted: int  # unpublished results deleted to stay under max_bytes, since open
    expired: int  # results dropped for being older than max_age, since open
    corrupt: int  # records that failed their CRC when read back, since open


class Spool:
    """The queue. Thread-safe: the pipeline appends while the publisher reads and acks.

    ``read`` hands out pending records in order from a cursor; ``ack`` removes one for good;
    ``rewind`` moves the cursor back to the oldest pending record (to send again what a lost
    connection may have dropped).
    """

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        *,
        max_age: float | None = None,
        sync_interval: float = 1.0,
        segment_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 2 * len(MAGIC) + 64:
            raise SpoolError(f"spool max_bytes is too small: {max_bytes}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.sync_interval = sync_interval
        self.segment_bytes = segment_bytes or min(max(max_bytes // 16, 4096), 16 * 1024 * 1024)
        self._clock = clock
        self._lock = threading.RLock()
        self._segments: list[Segment] = []
        self._next_seq = 0
        self._cursor = 0
        self._pending = 0
        self._bytes = 0
        self._evicted = self._expired = self._corrupt = 0
        self._dirty: set[int] = set()
        self._dir_dirty = False
        self._last_sync = time.monotonic()
        self._last_disk_error = -60.0
        self._closed = False
        self._lock_fd = self._take_lock()
        try:
            self._ack_fd, acked = self._load_acks()
            self._recover(acked)
        except BaseException:
            self._release()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _take_lock(self) -> int:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot use spool directory {self.directory}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise SpoolError(
                f"spool directory {self.directory} is in use by another edge process (pid {owner}); "
                "give each process its own spool.directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _load_acks(self) -> tuple[int, set[int]]:
        path = self.directory / _ACKS
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        data = read_all(fd)
        seqs, good = decode_acks(data)
        acked = set(seqs)
        if good != len(data):
            log.warning("spool: dropped a torn entry at the end of %s (%d bytes)", path, len(data) - good)
            os.ftruncate(fd, good)
        self._ack_size = good
        return fd, acked

    def _recover(self, acked: set[int]) -> None:
        bases = sorted(int(p.name[: -len(_SUFFIX)]) for p in self.directory.glob("*" + _SUFFIX) if _is_segment(p))
        for base in bases:
            seg = self._load_segment(base)
            seg.resolved = {s for s in acked if seg.base <= s < seg.end}
            self._segments.append(seg)
            self._bytes += seg.size
            self._pending += seg.unresolved
        self._next_seq = max([s.end for s in self._segments] + [max(acked, default=-1) + 1])
        # A fresh segment per run: new sequence numbers never follow a cut-off record or reuse
        # a number the ack log already holds.
        if self._segments and self._segments[-1].count == 0:
            empty = self._segments.pop()
            self._bytes -= empty.size
            self._delete(empty)
        self._segments.append(self._create_segment(self._next_seq))
        self._bytes += len(MAGIC)
        for seg in list(self._segments[:-1]):
            if seg.unresolved == 0:
                self._drop_segment(seg)
        self._cursor = self._oldest_pending()
        self._evict()
        self._compact_acks()
        if self._pending:
            log.info("spool: %d results from an earlier run are waiting to be published (%s)", self._pending, self)

    def _load_segment(self, base: int) -> Segment:
        path = self._segment_path(base)
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
        data = memoryview(read_all(fd))
        seg = Segment(base, path, fd)
        if len(data) < len(MAGIC):  # created, then killed before the header was written
            os.ftruncate(fd, 0)
            os.write(fd, MAGIC)
            return seg
        if bytes(data[: len(MAGIC)]) != MAGIC:
            os.close(fd)
            raise SpoolError(f"{path} is not an edge spool segment; move it out of {self.directory}")
        pos = len(MAGIC)
        while pos < len(data):
            decoded = decode_record(data, pos)
            if decoded is None or decoded[0].seq != seg.end:
                log.warning(
                    "spool: dropped %d bytes from a torn or corrupt record at offset %d of %s (left by a crash "
                    "or a disk error); the %d records before it are kept",
                    len(data) - pos,
                    pos,
                    path,
                    seg.count,
                )
                os.ftruncate(fd, pos)
                break
            seg.offsets.append(pos)
            pos = decoded[1]
        seg.size = max(pos, len(MAGIC))
        return seg

    # -- writing -------------------------------------------------------------------------------

    def append(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """Store one result; returns its sequence number. Raises SpoolError when it cannot.
        ``retain``: to be published with the MQTT retain flag."""
        with self._lock:
            self._check_open()
            seq = self._next_seq
            try:
                record = encode_record(seq, topic, payload, self._clock(), retain)
            except ValueError as exc:
                raise SpoolError(f"a result cannot be spooled: {exc}") from None
            if len(record) + len(MAGIC) > min(self.max_bytes, _MAX_RECORD):
                raise SpoolError(
                    f"a result of {len(record)} bytes does not fit in the spool (max_bytes {self.max_bytes})"
                )
            try:
                active = self._segments[-1]
                if active.count and active.size + len(record) > self.segment_bytes:
                    active = self._roll()
                self._write(active, record)
            except OSError as exc:
                raise SpoolError(f"cannot write to the spool in {self.directory}: {exc.strerror}") from None
            active.offsets.append(active.size)
            active.size += len(record)
            self._bytes += len(record)
            self._pending += 1
            self._next_seq += 1
            self._evict()
            self._sync_if_due()
            return seq

    def _write(self, seg: Segment, record: bytes) -> None:
        try:
            written = os.write(seg.fd, record)
            if written != len(record):  # a full disk writes short: never leave half a record
                raise OSError(28, "short write (disk full?)")
        except OSError:
            try:
                os.ftruncate(seg.fd, seg.size)
            except OSError:
                self._roll()  # the tail may be torn: later records must not follow it in this file
            raise
        self._dirty.add(seg.fd)

    def ack(self, seq: int) -> bool:
        """The broker has the result: remove it for good. False if it was not pending."""
        with self._lock:
            self._check_open()
            seg = self._find(seq)
            if seg is None or seq in seg.resolved:
                return False
            self._resolve(seg, seq)
            self._sync_if_due()
            return True

    def _resolve(self, seg: Segment, seq: int) -> None:
        try:
            os.write(self._ack_fd, encode_ack(seq))
            self._ack_size += ACK.size
            self._dirty.add(self._ack_fd)
        except OSError as exc:  # the result is gone from the broker's view; at worst it is sent again after a restart
            self._disk_error("cannot record an acknowledgement", exc)
        seg.resolved.add(seq)
        self._pending -= 1
        if seg.unresolved == 0 and seg is not self._segments[-1]:
            self._drop_segment(seg)

    # -- reading -------------------------------------------------------------------------------

    def read(self, limit: int) -> list[SpoolRecord]:
        """Up to ``limit`` pending records after the cursor, in order; moves the cursor past them."""
        out: list[SpoolRecord] = []
        expired = 0
        with self._lock:
            self._check_open()
            oldest = self._clock() - self.max_age if self.max_age is not None else None
            while len(out) < limit and self._cursor < self._next_seq:
                seg = self._segment_at_or_after(self._cursor)
                if seg is None:
                    self._cursor = self._next_seq
                    break
                seq = max(self._cursor, seg.base)  # skips what eviction or a torn tail removed
                self._cursor = seq + 1
                if seq in seg.resolved:
                    continue
                record = self._read_record(seg, seq)
                if record is None:
                    continue
                if oldest is not None and record.accepted_at < oldest:
                    self._resolve(seg, seq)
                    expired += 1
                    continue
                out.append(record)
            self._expired += expired
        if expired:
            log.warning(
                "spool: dropped %d results older than max_age (%gs) instead of publishing them", expired, self.max_age
            )
        return out

    def _read_record(self, seg: Segment, seq: int) -> SpoolRecord | None:
        index = seq - seg.base
        offset = seg.offsets[index]
        data = os.pread(seg.fd, seg.record_length(index), offset)
        decoded = decode_record(data, 0)
        if decoded is None or decoded[0].seq != seq:  # changed on disk since it was written
            log.error("spool: record %d in %s fails its CRC (disk error?); it is dropped", seq, seg.path)
            self._corrupt += 1
            self._resolve(seg, seq)
            return None
        return decoded[0]

    def rewind(self) -> None:
        """Point the cursor back at the oldest pending record."""
        with self._lock:
            self._cursor = self._oldest_pending()

    def has_unread(self) -> bool:
        with self._lock:
            return self._cursor < self._next_seq

    def iter_pending(self) -> Iterator[SpoolRecord]:
        """Every pending record in order, from disk, without touching the cursor."""
        with self._lock:
            positions = [(s, q) for s in self._segments for q in range(s.base, s.end) if q not in s.resolved]
        for seg, seq in positions:
            with self._lock:
                if seg in self._segments and seq not in seg.resolved:
                    data = os.pread(seg.fd, seg.record_length(seq - seg.base), seg.offsets[seq - seg.base])
                    decoded = decode_record(data, 0)
                    if decoded is not None:
                        yield decoded[0]

    # -- bounds --------------------------------------------------------------------------------

    def _evict(self) -> None:
        evicted, first, last = 0, -1, -1
        while self._bytes > self.max_bytes and len(self._segments) > 1:
            seg = self._segments[0]
            lost = seg.unresolved
            if lost:
                first = seg.base if first < 0 else first
                last = seg.end - 1
            evicted += lost
            self._pending -= lost
            self._drop_segment(seg)
        if evicted:
            self._evicted += evicted
            log.warning(
                "spool: full (max_bytes %d): evicted %d unpublished results, oldest first (seq %d to %d); "
                "%d evicted since start",
                self.max_bytes,
                evicted,
                first,
                last,
                self._evicted,
            )

    def _drop_segment(self, seg: Segment) -> None:
        self._segments.remove(seg)
        self._bytes -= seg.size
        self._delete(seg)
        self._compact_acks()

    def _compact_acks(self) -> None:
        live = sum(len(s.resolved) for s in self._segments)
        if self._ack_size <= max(64 * 1024, 4 * ACK.size * live):
            return
        tmp = self.directory / (_ACKS + ".tmp")
        data = b"".join(encode_ack(q) for s in self._segments for q in sorted(s.resolved))
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / _ACKS)
        except OSError as exc:  # the old log stays valid, only longer
            self._disk_error("cannot compact the ack log", exc)
            return
        self._dirty.discard(self._ack_fd)
        os.close(self._ack_fd)
        self._ack_fd = os.open(self.directory / _ACKS, os.O_RDWR | os.O_APPEND)
        self._dir_dirty = True
        self._ack_size = len(data)

    # -- segments ------------------------------------------------------------------------------

    def _segment_path(self, base: int) -> Path:
        return self.directory / f"{base:020d}{_SUFFIX}"

    def _create_segment(self, base: int) -> Segment:
        path = self._segment_path(base)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        os.write(fd, MAGIC)
        self._dirty.add(fd)
        self._dir_dirty = True
        return Segment(base, path, fd)

    def _roll(self) -> Segment:
        old = self._segments[-1]
        seg = self._create_segment(self._next_seq)
        self._segments.append(seg)
        self._bytes += seg.size
        if old.unresolved == 0:
            self._drop_segment(old)
        return seg

    def _delete(self, seg: Segment) -> None:
        self._dirty.discard(seg.fd)
        os.close(seg.fd)
        seg.path.unlink(missing_ok=True)
        self._dir_dirty = True

    def _find(self, seq: int) -> Segment | None:
        for seg in self._segments:
            if seg.base <= seq < seg.end:
                return seg
        return None

    def _segment_at_or_after(self, seq: int) -> Segment | None:
        for seg in self._segments:
            if seq < seg.end:
                return seg
        return None

    def _oldest_pending(self) -> int:
        for seg in self._segments:
            for seq in range(seg.base, seg.end):
                if seq not in seg.resolved:
                    return seq
        return self._next_seq

    # -- durability ----------------------------------------------------------------------------

    def _sync_if_due(self) -> None:
        if self.sync_interval == 0 or time.monotonic() - self._last_sync >= self.sync_interval:
            self._sync()

    def sync_if_due(self) -> None:
        """fsync if ``sync_interval`` has passed since the last one; the publisher calls it when idle."""
        with self._lock:
            if not self._closed and (self._dirty or self._dir_dirty):
                self._sync_if_due()

    def sync(self) -> None:
        with self._lock:
            if not self._closed:
                self._sync()

    def _sync(self) -> None:
        self._last_sync = time.monotonic()
        try:
            # Segments before the ack log: an ack must never reach the disk before its result does.
            for fd in sorted(self._dirty, key=lambda f: f == self._ack_fd):
                os.fsync(fd)
            self._dirty.clear()
            if self._dir_dirty:
                fsync_dir(self.directory)
                self._dir_dirty = False
        except OSError as exc:  # the data is still in the page cache; only power loss would lose it
            self._disk_error("fsync failed", exc)

    def _disk_error(self, what: str, exc: OSError) -> None:
        now = time.monotonic()
        if now - self._last_disk_error >= 60.0:  # a failing disk fails every call: say so once a minute
            self._last_disk_error = now
            log.error("spool: %s in %s: %s", what, self.directory, exc.strerror or exc)

    # -- state ---------------------------------------------------------------------------------

    def stats(self) -> SpoolStats:
        with self._lock:
            return SpoolStats(self._pending, self._bytes, self._evicted, self._expired, self._corrupt)

    def pending(self) -> int:
        with self._lock:
            return self._pending

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._sync()
            self._closed = True
            for seg in self._segments:
                os.close(seg.fd)
            os.close(self._ack_fd)
            self._segments.clear()
            self._release()

    def _release(self) -> None:
        os.close(self._lock_fd)  # closing the descriptor releases the flock

    def _check_open(self) -> None:
        if self._closed:
            raise SpoolError(f"the spool in {self.directory} is closed")

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r}, pending={self._pending}, bytes={self._bytes})"


def _is_segment(path: Path) -> bool:
    stem = path.name[: -len(_SUFFIX)]
    return len(stem) == 20 and stem.isdigit()
