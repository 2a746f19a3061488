"""The pipeline with a hosted fallback: frames it would lose or hold go to a real HTTP stand-in
of the hosted API (tests/hosted_server.py) running the same model, and come back as results."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.hosted.client import HostedClient
from edge.hosted.config import HostedConfig
from edge.hosted.fallback import HostedPlan
from edge.messages import ResultSource
from edge.pipeline import Pipeline, StreamHealth, StreamPlan
from edge.publish.config import SecretRef
from edge.sources import SourceSettings, SourceState, parse_uri
from edge.tasks.params import InferenceParams
from tests.helpers import assert_v1_valid
from tests.hosted_server import HostedStandIn
from tests.pipeline.helpers import DETECT, MemorySink, runner


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStandIn]:
    server = HostedStandIn({"shapes/1": DETECT})
    yield server
    server.close()


def plan_for(api: HostedStandIn, when: tuple[str, ...], max_rate: float = 1000.0, queue: int = 64) -> HostedPlan:
    cfg = HostedConfig("shapes/1", SecretRef("env", "KEY"), api.url, frozenset(when), max_rate, queue)
    client = HostedClient(api.url, "shapes/1", api.api_key)
    return HostedPlan(cfg, client, runner()[0].model.spec, InferenceParams())


def stream(name: str, clip: Path, models: tuple[str, ...], **kw: object) -> StreamPlan:
    return StreamPlan(SourceSettings(name, parse_uri(str(clip)), **kw), models)  # type: ignore[arg-type]


def health(p: Pipeline, name: str) -> StreamHealth:
    h = p.snapshot().streams[name]
    assert isinstance(h, StreamHealth)
    return h


def test_frames_a_busy_model_would_drop_are_answered_by_the_hosted_api(fast_clip: Path, api: HostedStandIn) -> None:
    sink = MemorySink()
    slow, _ = runner("det", delay=0.1)
    p = Pipeline(
        [stream("cam", fast_clip, ("det",), live=True)], [slow], [sink], hosted={"det": plan_for(api, ("overflow",))}
    )
    p.start()
    try:
        assert p.sources["cam"].machine.wait_for(SourceState.ENDED, timeout=30)
        assert p.wait_idle(30)
    finally:
        p.stop(drain=True)
    h = health(p, "cam")
    assert h.frames_read == 150 == h.inferred + h.dropped  # every frame answered or counted
    assert h.hosted > 50 and h.inferred - h.hosted > 5  # a 10 fps model, a 60 fps camera
    by_source = {s: [m for m in sink.messages if m.source is s] for s in ResultSource}
    assert len(by_source[ResultSource.HOSTED]) == h.hosted
    for m in by_source[ResultSource.HOSTED][:5]:
        assert_v1_valid(m.v1, "object-detection")
        assert m.v1["image"] == {"width": 160, "height": 120} and "hosted" in m.latency
    assert len({m.frame for m in sink.messages}) == len(sink.messages)  # no frame answered twice


def test_a_model_waiting_for_its_engine_is_served_by_the_hosted_api(short_clip: Path, api: HostedStandIn) -> None:
    sink = MemorySink()
    det, _ = runner("det")
    hosted = {"det": plan_for(api, ("building",), max_rate=5.0, queue=4)}  # a third of a 15 fps file
    p = Pipeline([stream("cam", short_clip, ("det",))], [], [sink], pending={"det": "building"}, hosted=hosted)
    p.start()
    try:
        deadline = time.monotonic() + 20
        while len(sink.messages) < 10:  # answered while the engine "builds"
            assert time.monotonic() < deadline, "no hosted answers"
            time.sleep(0.05)
        p.attach(det)
        assert p.sources["cam"].machine.wait_for(SourceState.ENDED, timeout=30)
        assert p.wait_idle(30)
    finally:
        p.stop(drain=True)
    # A file loses nothing: what the API did not take (rate, queue) waited for the local model.
    assert sorted(sink.frames("cam", "det")) == list(range(60))
    h = health(p, "cam")
    assert h.inferred == 60 and 10 <= h.hosted < 45 and h.dropped == 0


def test_frames_local_inference_failed_on_go_to_the_hosted_api(short_clip: Path, api: HostedStandIn) -> None:
    sink = MemorySink()
    flaky, spy = runner("det", fail_every=3)
    p = Pipeline(
        [stream("cam", short_clip, ("det",), realtime=False)],
        [flaky],
        [sink],
        hosted={"det": plan_for(api, ("error",))},
    )
    p.start()
    try:
        assert p.wait_idle(60)
    finally:
        p.stop(drain=True)
    assert sorted(sink.frames("cam", "det")) == list(range(60))
    h = health(p, "cam")
    assert h.errors == 0 and h.hosted >= len(spy.batches) // 3 - 1 > 0


def test_hosted_failures_count_as_errors_once(short_clip: Path, api: HostedStandIn) -> None:
    sink = MemorySink()
    plan = plan_for(api, ("building",))
    bad = HostedPlan(plan.config, HostedClient(api.url, "shapes/1", "wrong-key"), plan.spec, plan.params)
    p = Pipeline(
        [stream("cam", short_clip, ("det",), realtime=False)], [], [sink], pending={"det": "x"}, hosted={"det": bad}
    )
    p.start()
    try:
        p.attach(runner("det")[0])
        assert p.wait_idle(60)
    finally:
        p.stop(drain=True)
    h = health(p, "cam")
    assert h.inferred + h.errors == 60 and h.hosted == 0


def test_new_fallbacks_from_a_reload_switch_a_refused_key_back_on(short_clip: Path, api: HostedStandIn) -> None:
    sink = MemorySink()
    good = plan_for(api, ("building",), max_rate=5.0, queue=4)
    bad = HostedPlan(good.config, HostedClient(api.url, "shapes/1", "wrong-key"), good.spec, good.params)
    p = Pipeline([stream("cam", short_clip, ("det",))], [], [sink], pending={"det": "building"}, hosted={"det": bad})
    p.start()
    try:
        deadline = time.monotonic() + 20
        while not p.snapshot().hosted["det"].state.startswith("off"):  # the 401 switched it off
            assert time.monotonic() < deadline, "the fallback never switched off"
            time.sleep(0.05)
        assert sink.messages == []
        p.replace_fallbacks({"det": good})  # what a reload does, with the key fixed
        while len(sink.messages) < 5:
            assert time.monotonic() < deadline, "no hosted answers after the reload"
            time.sleep(0.05)
        assert p.snapshot().hosted["det"].state == "on"
        p.attach(runner("det")[0])
        assert p.sources["cam"].machine.wait_for(SourceState.ENDED, timeout=30)
        assert p.wait_idle(30)
    finally:
        p.stop(drain=True)
    h = health(p, "cam")
    # Every frame answered or counted: the few sent before the 401 are errors, the rest results.
    assert h.inferred + h.errors == 60 == len(set(sink.frames("cam", "det"))) + h.errors
    assert h.errors <= 2 and h.hosted >= 5
