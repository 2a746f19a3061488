"""Pipeline operations a reload uses: streams and models added, removed or replaced while running."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.messages import ResultMessage, ResultSource, Sink
from edge.pipeline import ModelRunner, Pipeline, StreamPlan
from edge.pipeline.fanout import Fanout
from edge.pipeline.inbox import Inbox
from edge.sources import Frame
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS
from tests.pipeline.helpers import MemorySink, plan, runner

SEGMENT = FIXTURE_MODELS / "shapes-segment.onnx"


def run(
    made: list[Pipeline], streams: list[StreamPlan], runners: list[ModelRunner], sink: Sink, **kw: object
) -> Pipeline:
    p = Pipeline(streams, runners, [sink], **kw)  # type: ignore[arg-type]
    made.append(p)
    p.start()
    return p


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def settled(p: Pipeline, stream: str) -> bool:
    return all(r.offered == r.inferred + r.dropped + r.errors for r in p.routes(stream).values())


def looping(name: str, clip: Path, models: tuple[str, ...] = ("det",)) -> StreamPlan:
    return plan(name, clip, models, loop=True)


def test_a_stream_added_and_one_removed_leave_the_others_alone(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    det, _ = runner()
    p = run(pipelines, [looping("keep", short_clip), looping("old", short_clip)], [det], sink)
    wait_for(lambda: len(sink.frames("old", "det")) >= 5, "results from both")
    p.add_stream(looping("new", short_clip))
    wait_for(lambda: len(sink.frames("new", "det")) >= 5, "results from the new stream")
    assert sink.frames("new", "det")[:5] == [0, 1, 2, 3, 4]
    with pytest.raises(EdgeError, match="already runs"):
        p.add_stream(looping("new", short_clip))
    with pytest.raises(EdgeError, match="no model named 'nope'"):
        p.add_stream(looping("bad", short_clip, ("nope",)))
    assert p.remove_stream("old", timeout=5)
    wait_for(lambda: settled(p, "old"), "frames of the removed stream in flight")
    gone = len(sink.frames("old", "det"))
    have = len(sink.frames("keep", "det"))
    wait_for(lambda: len(sink.frames("keep", "det")) >= have + 10, "more results from the kept stream")
    assert len(sink.frames("old", "det")) == gone
    assert set(p.snapshot().streams) == {"keep", "new"}
    keep = sink.frames("keep", "det")
    assert keep == list(range(len(keep)))


def test_removing_a_file_stream_blocked_on_a_slow_model_does_not_hang(
    short_clip: Path, pipelines: list[Pipeline]
) -> None:
    sink = MemorySink()
    det, _ = runner(delay=0.2)  # the file's reader waits for room most of the time
    p = run(pipelines, [plan("slow", short_clip, ("det",), realtime=False)], [det], sink)
    wait_for(lambda: len(sink.frames("slow", "det")) >= 1, "a first result")
    started = time.monotonic()
    assert p.remove_stream("slow", timeout=5)
    assert time.monotonic() - started < 2
    wait_for(lambda: settled(p, "slow"), "every frame read to be accounted for")
    routes = p.routes("slow")["det"]
    assert routes.dropped >= 1  # the queued frames, counted


def test_replace_model_keeps_the_stream_and_its_frame_numbers(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    det, old_spy = runner()
    p = run(pipelines, [looping("cam", short_clip)], [det], sink)
    wait_for(lambda: len(sink.frames("cam", "det")) >= 10, "results from the first model")
    seg, new_spy = runner(path=SEGMENT)
    assert p.replace_model("det", seg, timeout=5)
    old_calls = len(old_spy.batches)
    mark = len(sink.messages)
    wait_for(lambda: len(new_spy.batches) >= 10, "the new model to run")
    assert len(old_spy.batches) == old_calls  # the old worker took nothing after it retired
    after = [m for m in sink.messages[mark:] if m.v1["predictions"]]
    assert after and all("points" in d for m in after for d in m.v1["predictions"])
    frames = sink.frames("cam", "det")
    assert frames == list(range(len(frames)))


def test_update_params_takes_effect_on_the_next_batch(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    det, _ = runner()
    p = run(pipelines, [looping("cam", short_clip)], [det], sink)
    wait_for(lambda: len(sink.frames("cam", "det")) >= 10, "results")
    assert any(d["confidence"] < 0.9 for m in sink.messages for d in m.v1["predictions"])
    p.update_params("det", InferenceParams(confidence=0.9))
    mark = len(sink.messages) + 2  # a batch decoding during the call may use the old value
    wait_for(lambda: len(sink.messages) >= mark + 15, "results with the new threshold")
    assert all(d["confidence"] >= 0.9 for m in sink.messages[mark:] for d in m.v1["predictions"])
    with pytest.raises(EdgeError, match="not running"):
        p.update_params("nope", InferenceParams())


def test_a_model_added_then_fixed_after_failing_is_routed_to_its_streams(
    short_clip: Path, pipelines: list[Pipeline]
) -> None:
    sink = MemorySink()
    det, _ = runner()
    p = run(pipelines, [looping("cam", short_clip, ("det", "seg"))], [det], sink, failed_models={"seg": "no such file"})
    wait_for(lambda: len(sink.frames("cam", "det")) >= 5, "results from the working model")
    assert sink.frames("cam", "seg") == [] and p.ready_models() == {"det"}
    seg, _ = runner("seg", SEGMENT)
    p.replace_model("seg", seg)  # the file is fixed: the stream routes to it without a restart
    wait_for(lambda: len(sink.frames("cam", "seg")) >= 5, "results from the fixed model")
    assert p.snapshot().models == {"det": "ready", "seg": "ready"} and p.ready_models() == {"det", "seg"}
    extra, _ = runner("extra")
    p.add_model("extra", extra)
    p.add_stream(looping("second", short_clip, ("extra",)))
    wait_for(lambda: len(sink.frames("second", "extra")) >= 3, "results from the added model")
    assert p.remove_stream("second")
    assert p.remove_model("extra")
    assert "extra" not in p.snapshot().models
    det_frames = sink.frames("cam", "det")
    assert det_frames == list(range(len(det_frames)))


# -- the parts -------------------------------------------------------------------------------


def frame(stream: str, seq: int) -> Frame:
    return Frame(stream, seq, 0.0, np.zeros((4, 4, 3), np.uint8), 0.0, 0.0)


def test_inbox_remove_stream_counts_its_frames_and_refuses_more() -> None:
    drops: list[tuple[str, int]] = []
    inbox = Inbox(lambda s, n: drops.append((s, n)))
    inbox.add_stream("a", live=False, capacity=3)
    inbox.add_stream("b", live=False, capacity=3)
    for i in range(2):
        assert inbox.put(frame("a", i))
    inbox.remove_stream("a")
    assert drops == [("a", 2)] and inbox.streams() == ["b"]
    assert inbox.put(frame("a", 2)) is False


def test_inbox_remove_stream_releases_a_blocked_file_put() -> None:
    inbox = Inbox(lambda s, n: None)
    inbox.add_stream("a", live=False, capacity=1)
    assert inbox.put(frame("a", 0))
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(inbox.put(frame("a", 1))))
    t.start()
    time.sleep(0.1)
    assert t.is_alive()  # waiting for room
    inbox.remove_stream("a")
    t.join(2)
    assert result == [False]


def test_inbox_take_returns_empty_when_cancelled_and_woken() -> None:
    inbox = Inbox(lambda s, n: None)
    inbox.add_stream("a", live=True)
    cancel = threading.Event()
    taken: list[list[Frame]] = []
    t = threading.Thread(target=lambda: taken.append(inbox.take(4, cancel.is_set)))
    t.start()
    time.sleep(0.1)
    cancel.set()
    inbox.wake()
    t.join(2)
    assert taken == [[]]
    assert inbox.put(frame("a", 0)) and len(inbox.take(4)) == 1  # the frames are still for a successor


class SlowSink(Sink):
    def __init__(self) -> None:
        self.release = threading.Event()

    def publish(self, message: ResultMessage) -> None:
        self.release.wait(5)


def test_fanout_says_which_sink_holds_a_result_and_swaps_sinks() -> None:
    slow = SlowSink()
    fanout = Fanout([slow])
    message = ResultMessage("cam", "det", 0, 0.0, ResultSource.LOCAL, {"image": {}})
    assert fanout.busy() is None
    t = threading.Thread(target=fanout.publish, args=(message,))
    before = time.monotonic()
    t.start()
    wait_for(lambda: fanout.busy() is not None, "the publish to start")
    busy = fanout.busy()
    assert busy is not None and busy.sink == "SlowSink" and busy.since >= before
    slow.release.set()
    t.join(2)
    assert fanout.busy() is None
    memory = MemorySink()
    fanout.replace_sinks(lambda old: [memory, *old])
    fanout.publish(message)
    assert [m.frame for m in memory.messages] == [0]
