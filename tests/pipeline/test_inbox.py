from __future__ import annotations

import threading

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.pipeline.inbox import Inbox
from edge.sources import Frame

IMAGE = np.zeros((4, 4, 3), np.uint8)


def frame(stream: str, seq: int) -> Frame:
    return Frame(stream, seq, 0.0, IMAGE, 0.0, 0.0)


class Drops:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, stream: str, n: int) -> None:
        self.counts[stream] = self.counts.get(stream, 0) + n


def test_live_keeps_the_newest_and_counts_each_overwrite() -> None:
    drops = Drops()
    box = Inbox(drops)
    box.add_stream("cam", live=True)
    for i in range(5):
        assert box.put(frame("cam", i))
    assert box.depth("cam") == 1
    assert [f.seq for f in box.take(4)] == [4]
    assert drops.counts == {"cam": 4}


def test_file_put_waits_for_room_and_loses_nothing() -> None:
    box = Inbox(Drops())
    box.add_stream("f", live=False, capacity=2)
    assert box.put(frame("f", 0)) and box.put(frame("f", 1))
    done = threading.Event()
    threading.Thread(target=lambda: (box.put(frame("f", 2)), done.set()), daemon=True).start()
    assert not done.wait(0.2)  # blocked: the inbox is full
    assert [f.seq for f in box.take(1)] == [0]
    assert done.wait(5)
    assert [f.seq for f in box.take(1)] + [f.seq for f in box.take(1)] == [1, 2]


def test_take_is_round_robin_one_frame_per_stream() -> None:
    box = Inbox(Drops())
    for s in ("a", "b", "c"):
        box.add_stream(s, live=False, capacity=3)
        for i in range(3):
            box.put(frame(s, i))
    first = box.take(2)
    second = box.take(8)
    assert [(f.stream, f.seq) for f in first] == [("a", 0), ("b", 0)]
    assert [(f.stream, f.seq) for f in second] == [("c", 0), ("a", 1), ("b", 1)]


def test_close_unblocks_writers_and_readers() -> None:
    drops = Drops()
    box = Inbox(drops)
    box.add_stream("f", live=False, capacity=1)
    box.add_stream("cam", live=True)
    box.put(frame("f", 0))
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(box.put(frame("f", 1))), daemon=True)
    t.start()
    box.close()
    t.join(5)
    assert result == [False]
    assert not box.put(frame("cam", 0))
    assert [f.seq for f in box.take(4)] == [0]  # queued frames are still drained
    assert box.take(4) == []  # closed and empty: the worker stops


def test_close_with_discard_counts_the_queued_frames() -> None:
    drops = Drops()
    box = Inbox(drops)
    box.add_stream("f", live=False, capacity=3)
    for i in range(3):
        box.put(frame("f", i))
    box.close(discard=True)
    assert drops.counts == {"f": 3}
    assert box.take(4) == []


def test_a_stream_feeds_a_model_once() -> None:
    box = Inbox(Drops())
    box.add_stream("a", live=True)
    with pytest.raises(EdgeError, match="already feeds"):
        box.add_stream("a", live=False)
