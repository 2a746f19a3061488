"""The ``latency`` trigger: its prediction, and a slow model's live frames going to the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.hosted.config import HostedConfig
from edge.hosted.fallback import HostedPlan, client_for
from edge.hosted.latency import RecentTime, predicted_latency
from edge.messages import ResultSource
from edge.pipeline import Pipeline, StreamHealth, StreamPlan
from edge.publish.config import SecretRef
from edge.sources import SourceSettings, SourceState, parse_uri
from edge.tasks.params import InferenceParams
from tests.hosted_server import HostedStandIn
from tests.pipeline.helpers import DETECT, MemorySink, runner


@pytest.mark.parametrize(
    ("ahead", "in_flight", "per_frame", "instances", "expected"),
    [
        (0, 0, 0.1, 1, 0.1),  # an idle model: the frame's own inference
        (2, 1, 0.1, 1, 0.4),  # two queued ahead, one being inferred, then its own
        (3, 0, 0.0, 1, 0.0),  # no local result yet: no prediction, so no trigger
        (-1, -1, 0.05, 1, 0.05),  # counts read while they change are never below zero
        (2, 2, 0.1, 2, 0.3),  # two instances work off the four ahead two at a time
        (2, 1, 0.1, 2, 0.3),  # three ahead on two instances: two rounds, rounded up
    ],
)
def test_predicted_latency(ahead: int, in_flight: int, per_frame: float, instances: int, expected: float) -> None:
    assert predicted_latency(ahead, in_flight, per_frame, instances) == pytest.approx(expected)


def test_recent_time_follows_the_model() -> None:
    t = RecentTime()
    assert t.value == 0.0
    t.add(0.1)
    assert t.value == pytest.approx(0.1)  # the first sample is taken as it is
    for _ in range(30):
        t.add(0.5)
    assert t.value == pytest.approx(0.5, abs=0.01)


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStandIn]:
    server = HostedStandIn({"shapes/1": DETECT})
    yield server
    server.close()


def run_live(clip: Path, api: HostedStandIn, max_latency: float) -> tuple[StreamHealth, MemorySink]:
    slow, _ = runner("det", delay=0.15)  # about 0.15 s a frame: slower than the budget below
    config = HostedConfig(
        "shapes/1", SecretRef("env", "K"), api.url, frozenset({"latency"}), max_rate=100.0, max_latency=max_latency
    )
    spec = slow.model.spec
    plan = HostedPlan(config, client_for(config, spec, api.api_key), spec, InferenceParams())
    sink = MemorySink()
    source = SourceSettings("cam", parse_uri(str(clip)), live=True)
    p = Pipeline([StreamPlan(source, ("det",))], [slow], [sink], hosted={"det": plan})
    p.start()
    try:
        assert p.sources["cam"].machine.wait_for(SourceState.ENDED, timeout=30)
        assert p.wait_idle(30)
    finally:
        p.stop(drain=True)
    health = p.snapshot().streams["cam"]
    assert isinstance(health, StreamHealth)
    assert health.frames_read == health.inferred + health.dropped  # every frame answered or counted
    return health, sink


def test_a_slow_models_live_frames_go_to_the_api_when_over_budget(camera_clip: Path, api: HostedStandIn) -> None:
    health, sink = run_live(camera_clip, api, max_latency=0.1)
    hosted = [m for m in sink.messages if m.source is ResultSource.HOSTED]
    assert health.hosted == len(hosted) >= 20 and health.inferred - health.hosted >= 1
    assert all(m.v1["image"] == {"width": 160, "height": 120} for m in hosted)


def test_within_budget_every_frame_stays_local(camera_clip: Path, api: HostedStandIn) -> None:
    health, sink = run_live(camera_clip, api, max_latency=5.0)
    assert health.hosted == 0 and health.inferred >= 10
    assert all(m.source is ResultSource.LOCAL for m in sink.messages)
