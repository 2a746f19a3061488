"""Hosted-fallback answers feed the stream's tracker like local ones: one id across
hosted -> local, nothing dropped, published in capture order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.messages import ResultSource
from edge.pipeline import Pipeline, StreamPlan
from edge.sources import SourceSettings, SourceState, parse_uri
from edge.tracking.bytetrack import TrackerConfig
from edge.tracking.settings import TrackingSettings
from tests.hosted_server import HostedStandIn
from tests.pipeline.helpers import DETECT, MemorySink, runner
from tests.pipeline.test_hosted_fallback import plan_for


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStandIn]:
    server = HostedStandIn({"shapes/1": DETECT})
    yield server
    server.close()


def test_a_track_keeps_its_id_from_hosted_to_local_answers(short_clip: Path, api: HostedStandIn) -> None:
    sink = MemorySink()
    det, _ = runner("det")
    tracking = TrackingSettings(
        "det", TrackerConfig(confirm_hits=2), reorder_s=2.0
    )  # the stand-in API answers a queue of 8 slowly on 2 cores
    plan = StreamPlan(SourceSettings("cam", parse_uri(str(short_clip))), ("det",), tracking)
    hosted = {"det": plan_for(api, ("building",), max_rate=1000.0, queue=8)}
    p = Pipeline([plan], [], [sink], pending={"det": "building"}, hosted=hosted)
    p.start()
    try:
        deadline = time.monotonic() + 20
        while len(sink.messages) < 15:  # answered by the hosted API while the engine "builds"
            assert time.monotonic() < deadline, "no hosted answers"
            time.sleep(0.05)
        p.attach(det)
        assert p.sources["cam"].machine.wait_for(SourceState.ENDED, timeout=30)
        assert p.wait_idle(30)
    finally:
        p.stop(drain=True)
    frames = sink.frames("cam", "det")
    assert sorted(frames) == list(range(60))  # nothing dropped
    # Released in capture order, except frames later than the window (a file's frame the API
    # could not take waits in the local queue until the engine is ready): those pass untracked.
    stats = p.snapshot().tracking["cam"]
    behind = sum(f < max(frames[:i], default=-1) for i, f in enumerate(frames))
    assert behind <= stats["late"] and stats["tracked"] + stats["untracked"] == 60, stats
    assert stats["tracked"] >= 45, stats
    ids = {s: set() for s in ResultSource}  # type: ignore[var-annotated]
    for m in sink.messages:
        ids[m.source] |= {pr["tracker_id"] for pr in m.v1["predictions"] if "tracker_id" in pr}
    assert ids[ResultSource.HOSTED] and ids[ResultSource.LOCAL], ids
    assert ids[ResultSource.HOSTED] & ids[ResultSource.LOCAL], ids  # the same objects, the same ids
