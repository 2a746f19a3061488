"""A model run with several instances: inferences overlap, results keep each stream's order."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import EdgeError
from edge.model import Model
from edge.pipeline import ModelRunner, Pipeline, StreamHealth
from tests.pipeline.helpers import DETECT, MemorySink, plan, runner


def _run(made: list[Pipeline], clip: Path, det: ModelRunner, streams: int = 1) -> tuple[Pipeline, MemorySink]:
    sink = MemorySink()
    p = Pipeline([plan(f"s{i}", clip, (det.name,), realtime=False) for i in range(streams)], [det], [sink])
    made.append(p)
    p.start()
    assert p.wait_idle(60)
    return p, sink


@pytest.mark.parametrize(("instances", "streams"), [(2, 1), (3, 1), (3, 2)])
def test_results_keep_their_order_whichever_inference_finishes_first(
    short_clip: Path, pipelines: list[Pipeline], instances: int, streams: int
) -> None:
    # Up to 30 ms of seeded jitter per call: later batches often finish before earlier ones.
    det, spy = runner(instances=instances, jitter=0.03, max_batch=streams)
    p, sink = _run(pipelines, short_clip, det, streams)
    for i in range(streams):
        assert sink.frames(f"s{i}", "det") == list(range(60))
    assert spy.peak_active == instances  # they did overlap, and never more than asked
    h = p.snapshot().streams["s0"]
    assert isinstance(h, StreamHealth) and (h.inferred, h.dropped, h.errors) == (60, 0, 0)


def test_a_failed_inference_does_not_hold_back_the_ones_after_it(short_clip: Path, pipelines: list[Pipeline]) -> None:
    det, _ = runner(instances=2, fail_every=3, max_batch=1, jitter=0.01)
    p, sink = _run(pipelines, short_clip, det)
    frames = sink.frames("s0", "det")
    assert len(frames) == 40 and frames == sorted(frames)
    routes = p.routes("s0")["det"]
    assert (routes.offered, routes.inferred, routes.errors) == (60, 40, 20)


def test_batches_finished_early_wait_in_a_bounded_window(short_clip: Path, pipelines: list[Pipeline]) -> None:
    # The first inference takes 1 s; the other instance must not run ahead without limit.
    det, spy = runner(instances=2, first_delay=1.0, max_batch=1)
    _, sink = _run(pipelines, short_clip, det)
    assert sink.frames("s0", "det") == list(range(60))
    # The window is 2 x instances + 2 batches between the prep and post stages, the first included.
    assert 1 <= spy.started_during_first <= 5


@pytest.mark.parametrize(("instances", "pipelined"), [(0, True), (2, False)])
def test_instances_need_a_count_and_pipelined_stages(instances: int, pipelined: bool) -> None:
    with pytest.raises(EdgeError, match="instances must be 1, or more with pipelined stages"):
        ModelRunner("det", Model.open(DETECT), pipelined=pipelined, instances=instances)
