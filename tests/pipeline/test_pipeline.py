from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import pytest

from edge.errors import EdgeError
from edge.messages import Sink
from edge.model import Model
from edge.pipeline import ModelRunner, Pipeline, StreamHealth, StreamPlan
from edge.sources import SourceState
from tests.helpers import assert_v1_valid
from tests.pipeline.helpers import DETECT, BrokenSink, DevicePreprocessBackend, MemorySink, plan, runner

STAGES = ("capture", "queue", "preprocess", "wait", "infer", "postprocess")


def run(made: list[Pipeline], streams: list[StreamPlan], runners: list[ModelRunner], sinks: list[Sink]) -> Pipeline:
    p = Pipeline(streams, runners, sinks)
    made.append(p)
    p.start()
    return p


def health(p: Pipeline, stream: str) -> StreamHealth:
    h = p.snapshot().streams[stream]
    assert isinstance(h, StreamHealth)
    return h


@pytest.mark.parametrize("pipelined", [True, False], ids=["three-threads", "one-thread"])
def test_file_stream_every_frame_in_order_with_stage_latency(
    short_clip: Path, pipelines: list[Pipeline], pipelined: bool
) -> None:
    sink = MemorySink()
    det, _ = runner(pipelined=pipelined)
    p = run(pipelines, [plan("cam", short_clip, ("det",), realtime=False)], [det], [sink])
    assert p.wait_idle(60)
    assert sink.frames("cam", "det") == list(range(60))
    for m in sink.messages[:5]:
        assert_v1_valid(m.v1, "object-detection")
        assert m.v1["image"] == {"width": 320, "height": 240}
        assert set(m.latency) == set(STAGES) and all(v >= 0 for v in m.latency.values())
        assert sum(m.latency.values()) < 5
    h = health(p, "cam")
    assert (h.state, h.frames_read, h.inferred, h.dropped, h.queue_depth) == ("ended", 60, 60, 0, 0)
    assert 0 < h.latency_p50 <= h.latency_p95
    assert p.snapshot().models == {"det": "ready"}


def test_model_shared_by_streams_batches_across_them(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    det, spy = runner(max_batch=4)
    streams = [plan(f"s{i}", short_clip, ("det",), realtime=False) for i in range(3)]
    p = run(pipelines, streams, [det], [sink])
    assert p.wait_idle(60)
    for i in range(3):
        assert sink.frames(f"s{i}", "det") == list(range(60))
    assert max(spy.batches) == 3  # one frame per stream per batch
    assert sum(spy.batches) == 180


def test_fixed_batch_model_gets_padded_batches(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    det, spy = runner(fixed_batch=4)
    p = run(pipelines, [plan("cam", short_clip, ("det",), realtime=False)], [det], [sink])
    assert p.wait_idle(60)
    assert set(spy.batches) == {4}
    assert sink.frames("cam", "det") == list(range(60))  # the padding produced no results


def test_slow_model_on_live_source_drops_and_accounts_for_every_frame(
    fast_clip: Path, pipelines: list[Pipeline]
) -> None:
    sink = MemorySink()
    slow, _ = runner("slow", delay=0.1)
    p = run(pipelines, [plan("cam", fast_clip, ("slow",), live=True)], [slow], [sink])
    assert p.sources["cam"].machine.wait_for(SourceState.ENDED, timeout=30)
    assert p.wait_idle(10)
    h = health(p, "cam")
    routes = p.routes("cam")["slow"]
    assert h.frames_read == 150 == routes.offered
    assert h.frames_read == h.inferred + h.dropped
    assert h.dropped > 100  # a 60 fps camera, a 10 fps model
    # The newest frame wins: a frame waits for about two inferences, never a backlog. A queue
    # would have made the last frames wait ~12 s (150 frames at 0.1 s each, read in 2.5 s); the
    # bound leaves room for a loaded 2-core machine without letting a backlog through.
    worst = max(sum(m.latency.values()) for m in sink.messages)
    assert worst < 1.5, f"latency grew to {worst:.2f} s"
    frames = sink.frames("cam", "slow")
    assert frames == sorted(frames)


def test_a_failing_model_does_not_stop_the_other_model_or_stream(
    short_clip: Path, tmp_path: Path, pipelines: list[Pipeline], caplog: pytest.LogCaptureFixture
) -> None:
    sink = MemorySink()
    good, _ = runner("good")
    flaky, _ = runner("flaky", fail_every=3, max_batch=1)
    streams = [
        plan("cam", short_clip, ("good", "flaky"), realtime=False),
        plan("gone", tmp_path / "missing.mp4", ("good",)),
    ]
    p = run(pipelines, streams, [good, flaky], [sink])
    assert p.wait_idle(60)
    assert sink.frames("cam", "good") == list(range(60))
    flaky_frames = sink.frames("cam", "flaky")
    assert len(flaky_frames) == 40  # every third batch failed
    routes = p.routes("cam")["flaky"]
    assert (routes.offered, routes.inferred, routes.errors) == (60, 40, 20)
    h = health(p, "cam")
    assert (h.frames_read * 2, h.inferred, h.dropped, h.errors) == (120, 100, 20, 20)
    assert p.snapshot().models["flaky"] == "error: inference failed: RuntimeError: device lost"
    assert health(p, "gone").state == "failed"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum("device lost" in e for e in errors) == 1  # one line, not one per frame
    assert any("missing.mp4: no such file" in e for e in errors)


def test_a_failing_sink_does_not_starve_the_others(short_clip: Path, pipelines: list[Pipeline]) -> None:
    good, broken = MemorySink(), BrokenSink()
    det, _ = runner()
    p = run(pipelines, [plan("cam", short_clip, ("det",), realtime=False)], [det], [broken, good])
    assert p.wait_idle(60)
    assert good.frames("cam", "det") == list(range(60))
    assert broken.calls == 60


def test_stop_with_drain_publishes_every_frame_read(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    slow, _ = runner("slow", delay=0.02)
    p = Pipeline([plan("cam", short_clip, ("slow",), realtime=False)], [slow], [sink])
    pipelines.append(p)
    p.start()
    assert p.sources["cam"].machine.wait_for(SourceState.RUNNING, timeout=10)
    assert p.stop(drain=True, timeout=20)
    h = health(p, "cam")
    assert 0 < h.frames_read < 60
    assert h.inferred == h.frames_read and h.dropped == 0
    assert sink.frames("cam", "slow") == list(range(h.frames_read))


def test_stop_without_drain_counts_what_it_discards(fast_clip: Path, pipelines: list[Pipeline]) -> None:
    slow, _ = runner("slow", delay=0.05)
    p = Pipeline([plan("cam", fast_clip, ("slow",), realtime=False)], [slow], [MemorySink()])
    pipelines.append(p)
    p.start()
    deadline = time.monotonic() + 10
    while p.routes("cam")["slow"].offered < 6 and time.monotonic() < deadline:  # the inbox fills up
        time.sleep(0.01)
    assert p.stop(drain=False, timeout=20)
    r = p.routes("cam")["slow"]
    assert r.offered == r.inferred + r.dropped and r.dropped > 0


def test_backend_with_device_preprocessing_gets_frames_not_tensors(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    model = Model.open(DETECT)
    device = DevicePreprocessBackend(model.backend)
    spec = dataclasses.replace(model.spec, batch=2)  # fixed batch: a short batch is padded with frames
    det = ModelRunner("det", Model(spec, device))
    p = run(pipelines, [plan("cam", short_clip, ("det",), realtime=False)], [det], [sink])
    assert p.wait_idle(60)
    assert sink.frames("cam", "det") == list(range(60))
    assert set(device.image_batches) == {2} and len(device.image_batches) == 60
    assert all(m.latency["preprocess"] < 0.01 for m in sink.messages)  # done inside "infer"


@pytest.mark.parametrize(
    ("models", "says"),
    [(("det", "nope"), "no model named 'nope'"), ((), "at least one model"), (("det", "det"), "listed twice")],
)
def test_stream_model_references_are_checked(short_clip: Path, models: tuple[str, ...], says: str) -> None:
    det, _ = runner()
    with pytest.raises(EdgeError, match=says):
        Pipeline([plan("cam", short_clip, models)], [det], [])


def test_failed_model_is_reported_and_its_stream_runs_the_rest(short_clip: Path, pipelines: list[Pipeline]) -> None:
    sink = MemorySink()
    det, _ = runner()
    p = Pipeline(
        [plan("cam", short_clip, ("det", "seg"), realtime=False)], [det], [sink], failed_models={"seg": "no file"}
    )
    pipelines.append(p)
    p.start()
    assert p.wait_idle(60)
    assert sink.frames("cam", "det") == list(range(60))
    assert p.snapshot().models == {"det": "ready", "seg": "failed: no file"}


def test_a_pending_model_waits_then_attaches_and_a_failed_one_leaves_the_others(
    short_clip: Path, pipelines: list[Pipeline]
) -> None:
    sink = MemorySink()
    det, _ = runner("det")
    late, _ = runner("late")
    streams = [
        plan("cam", short_clip, ("det", "late"), realtime=False),  # waits for "late"
        plan("door", short_clip, ("det", "gone"), realtime=False),  # "gone" will fail
    ]
    p = Pipeline(streams, [det], [sink], pending={"late": "building", "gone": "building"})
    pipelines.append(p)
    p.start()
    time.sleep(0.5)
    # A file stream waits for its pending model: a few frames queue, none is lost.
    assert sink.frames("cam", "late") == [] and health(p, "cam").waiting_for == ["late"]
    assert len(sink.frames("cam", "det")) <= 4 and p.snapshot().models["late"] == "building"
    p.fail_model("gone", "build failed: out of memory")
    p.attach(late)
    assert p.wait_idle(60)
    for stream, model in (("cam", "det"), ("cam", "late"), ("door", "det")):
        assert sink.frames(stream, model) == list(range(60)), (stream, model)
    door = health(p, "door")
    assert door.state == "ended" and door.waiting_for == [] and door.routes["gone"]["inferred"] == 0
    assert door.routes["gone"]["offered"] == door.routes["gone"]["dropped"]  # every frame accounted for
    assert p.snapshot().models == {"det": "ready", "late": "ready", "gone": "failed: build failed: out of memory"}
    with pytest.raises(EdgeError, match="not waiting"):
        p.attach(late)
