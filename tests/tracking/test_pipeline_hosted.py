"""Hosted-fallback answers feed the stream's tracker like local ones: local and hosted answers
interleave (every third local batch fails and goes to the API), and each object keeps one id
across them; nothing dropped, published in capture order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.messages import ResultSource
from edge.pipeline import Pipeline, StreamPlan
from edge.sources import SourceSettings, parse_uri
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


def test_local_and_hosted_answers_feed_one_tracker(short_clip: Path, api: HostedStandIn) -> None:
    sink = MemorySink()
    flaky, _ = runner("det", fail_every=3)
    # A window no hosted answer misses, however slow the stand-in API is on 2 busy cores.
    tracking = TrackingSettings("det", TrackerConfig(confirm_hits=2), reorder_s=30.0)
    plan = StreamPlan(SourceSettings("cam", parse_uri(str(short_clip))), ("det",), tracking)
    p = Pipeline([plan], [flaky], [sink], hosted={"det": plan_for(api, ("error",))})
    p.start()
    try:
        assert p.wait_idle(60)
    finally:
        p.stop(drain=True)
    frames = sink.frames("cam", "det")
    assert frames == list(range(60))  # nothing dropped, released in capture order
    stats = p.snapshot().tracking["cam"]
    assert (stats["tracked"], stats["late"]) == (60, 0), stats
    by_source: dict[ResultSource, set[int]] = {s: set() for s in ResultSource}
    frames_of: dict[int, set[ResultSource]] = {}
    for m in sink.messages:
        for pr in m.v1["predictions"]:
            if "tracker_id" in pr:
                by_source[m.source].add(pr["tracker_id"])
                frames_of.setdefault(pr["tracker_id"], set()).add(m.source)
    assert by_source[ResultSource.HOSTED] and by_source[ResultSource.LOCAL], by_source
    both = [tid for tid, sources in frames_of.items() if len(sources) == 2]
    assert len(both) >= 3, frames_of  # the clip's objects, each one id across local and hosted answers
    assert len(frames_of) <= 6, frames_of  # 4 shapes: no new id at each switch (a third of the frames)
