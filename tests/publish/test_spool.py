"""The spool on its own: order, acknowledgements, crashes, bounds."""

from __future__ import annotations

import logging
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from edge.publish.records import MAGIC, encode_record
from edge.publish.spool import Spool, SpoolError
from tests.helpers import ROOT


def spool(directory: Path, max_bytes: int = 1 << 20, **kw) -> Spool:
    return Spool(directory, max_bytes, **kw)


def fill(s: Spool, n: int, size: int = 50, start: int = 0) -> list[int]:
    return [s.append(f"t/{i % 3}", f"{i:06d}".encode() + b"." * size) for i in range(start, start + n)]


def seqs(records) -> list[int]:
    return [r.seq for r in records]


@pytest.mark.parametrize("sync_interval", [0.0, 1.0])
def test_records_come_back_in_order_after_reopen(tmp_path: Path, sync_interval: float) -> None:
    with spool(tmp_path, sync_interval=sync_interval, segment_bytes=500) as s:
        assert fill(s, 30) == list(range(30))
    with spool(tmp_path) as s:
        records = s.read(100)
        assert seqs(records) == list(range(30))
        assert [(r.topic, r.payload[:6]) for r in records[:2]] == [("t/0", b"000000"), ("t/1", b"000001")]
        assert list(s.iter_pending()) == records


def test_acks_in_any_order_persist_across_reopen(tmp_path: Path) -> None:
    with spool(tmp_path, segment_bytes=300) as s:
        fill(s, 12)
        for seq in (5, 0, 2, 11):
            assert s.ack(seq)
        assert not s.ack(5) and not s.ack(99)  # already gone, never existed
    with spool(tmp_path) as s:
        assert seqs(s.read(100)) == [1, 3, 4, 6, 7, 8, 9, 10]
        assert s.pending() == 8
        assert s.append("t", b"new") == 12  # numbers are never reused


def test_fully_acknowledged_segments_are_deleted(tmp_path: Path) -> None:
    with spool(tmp_path, segment_bytes=400) as s:
        fill(s, 60)
        assert len(list(tmp_path.glob("*.seg"))) > 5
        for record in s.read(100):
            s.ack(record.seq)
        assert s.pending() == 0
        assert len(list(tmp_path.glob("*.seg"))) == 1  # the one being written


def test_rewind_hands_out_the_unacknowledged_again_in_order(tmp_path: Path) -> None:
    with spool(tmp_path) as s:
        fill(s, 6)
        assert seqs(s.read(4)) == [0, 1, 2, 3]
        s.ack(1)
        assert seqs(s.read(4)) == [4, 5] and not s.has_unread()
        s.rewind()
        assert seqs(s.read(10)) == [0, 2, 3, 4, 5]


def _last_segment(directory: Path) -> Path:
    return sorted(p for p in directory.glob("*.seg") if p.stat().st_size > len(MAGIC))[-1]


@pytest.mark.parametrize(
    "damage",
    [
        "cut in the length prefix",
        "cut in the header",
        "cut in the payload",
        "flipped payload byte",
        "garbage appended",
    ],
)
def test_a_torn_last_record_is_dropped_and_everything_before_kept(tmp_path: Path, caplog, damage: str) -> None:
    with spool(tmp_path) as s:
        fill(s, 5)
    seg = _last_segment(tmp_path)
    data = bytearray(seg.read_bytes())
    last = len(data) - len(encode_record(4, "t/1", b"." * 56, 0.0))  # where the last record starts
    if damage == "cut in the length prefix":
        data = data[: last + 2]
    elif damage == "cut in the header":
        data = data[: last + 12]
    elif damage == "cut in the payload":
        data = data[:-10]
    elif damage == "flipped payload byte":
        data[-3] ^= 0xFF
    else:
        data += b"\x07" * 13
    seg.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), spool(tmp_path) as s:
        expect = 5 if damage == "garbage appended" else 4
        assert seqs(s.read(10)) == list(range(expect))
        assert s.append("t", b"after") == expect
    assert "torn or corrupt record" in caplog.text
    with spool(tmp_path) as s:  # the repaired file reads cleanly the next time
        assert s.pending() == expect + 1


def test_a_torn_ack_entry_is_ignored(tmp_path: Path) -> None:
    with spool(tmp_path) as s:
        fill(s, 3)
        s.ack(0)
    with open(tmp_path / "acks.log", "ab") as f:
        f.write(b"\x01\x00\x00")  # half of an ack for seq 1
    with spool(tmp_path) as s:
        assert seqs(s.read(10)) == [1, 2]


@pytest.mark.parametrize("content", [b"", MAGIC[:3]])
def test_a_segment_cut_before_its_header_is_repaired(tmp_path: Path, content: bytes) -> None:
    with spool(tmp_path) as s:
        fill(s, 2)
    (tmp_path / f"{2:020d}.seg").write_bytes(content)
    with spool(tmp_path) as s:
        assert seqs(s.read(10)) == [0, 1]
        assert s.append("t", b"x") == 2


def test_a_foreign_file_is_refused_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / f"{0:020d}.seg").write_bytes(b"something else entirely")
    with pytest.raises(SpoolError, match="not an edge spool segment"):
        spool(tmp_path)


def test_one_process_per_spool(tmp_path: Path) -> None:
    with spool(tmp_path):
        with pytest.raises(SpoolError, match=r"in use by another edge process \(pid \d+\)"):
            spool(tmp_path)
    spool(tmp_path).close()  # released on close


def test_full_spool_evicts_oldest_first_counts_and_logs(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with spool(tmp_path, max_bytes=8 * 1024, segment_bytes=1024) as s:
        fill(s, 300)
        stats = s.stats()
        kept = seqs(s.read(1000))
        on_disk = sum(p.stat().st_size for p in tmp_path.glob("*.seg"))
    assert stats.evicted > 0 and stats.evicted + stats.pending == 300
    assert kept == list(range(300 - stats.pending, 300))  # the newest, gap-free
    assert on_disk == stats.bytes <= 8 * 1024
    assert sum(int(n) for n in re.findall(r"evicted (\d+) unpublished", caplog.text)) == stats.evicted


def test_acknowledged_results_are_not_counted_as_evicted(tmp_path: Path) -> None:
    with spool(tmp_path, max_bytes=8 * 1024, segment_bytes=1024) as s:
        fill(s, 40)
        for record in s.read(40):
            s.ack(record.seq)
        fill(s, 200, start=40)
        stats = s.stats()
    assert stats.evicted + stats.pending == 200


def test_results_older_than_max_age_are_dropped_and_counted(tmp_path: Path, caplog) -> None:
    now = [1000.0]
    with spool(tmp_path, max_age=60.0, clock=lambda: now[0]) as s:
        fill(s, 3)
        now[0] += 30
        fill(s, 2, start=3)
        now[0] += 45  # the first three are 75 s old, the last two 45 s
        assert seqs(s.read(10)) == [3, 4]
        assert s.stats().expired == 3 and s.pending() == 2
    assert "dropped 3 results older than max_age" in caplog.text


def test_a_result_larger_than_the_spool_is_refused(tmp_path: Path) -> None:
    with spool(tmp_path, max_bytes=4096) as s:
        with pytest.raises(SpoolError, match="does not fit in the spool"):
            s.append("t", b"x" * 5000)
        assert s.append("t", b"small") == 0


def test_the_ack_log_is_compacted(tmp_path: Path) -> None:
    with spool(tmp_path, segment_bytes=2048) as s:
        for record_seq in fill(s, 8000, size=4):
            s.ack(record_seq)
        assert s.pending() == 0
    assert (tmp_path / "acks.log").stat().st_size < 64 * 1024 + 12 * 200


_WRITER = """
import sys
from pathlib import Path
from edge.publish.spool import Spool
s = Spool(Path(sys.argv[1]), 1 << 26, segment_bytes=64 * 1024)
i = 0
while True:
    s.append("t", b"%08d" % i + b"." * (i % 200))
    if i % 500 == 0:
        print(i, flush=True)
    i += 1
"""


def test_a_writer_killed_mid_stream_leaves_a_gap_free_prefix(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        last = 0
        while last < 20000:
            last = int(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    with spool(tmp_path, 1 << 26) as s:
        records = s.read(10**6)
    assert len(records) > last  # every append that returned before the kill is there
    assert seqs(records) == list(range(len(records)))
    assert all(r.payload == b"%08d" % r.seq + b"." * (r.seq % 200) for r in records)


_FILLER = """
import resource, signal, sys
from pathlib import Path
from edge.publish.spool import Spool, SpoolError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, like a full disk
s = Spool(Path(sys.argv[1]), 1 << 20, segment_bytes=1 << 20)
resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))
n = 0
try:
    while True:
        s.append("t", b"%05d" % n + b"." * 95)
        n += 1
except SpoolError as exc:
    print(n, exc)
"""


def test_a_full_disk_is_a_spool_error_and_leaves_no_torn_record(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FILLER, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    count, message = out.strip().split(" ", 1)
    assert 40 < int(count) < 60
    assert message.startswith("cannot write to the spool in ") and "\n" not in message
    with spool(tmp_path) as s:
        assert seqs(s.read(100)) == list(range(int(count)))
