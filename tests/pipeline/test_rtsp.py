"""A real RTSP server (gst-rtsp-server) serving the demo clip goes away for 5 s and comes back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edge.messages import ResultMessage
from edge.pipeline import Pipeline, StreamHealth, StreamPlan
from edge.sources import SourceSettings, SourceState, parse_uri
from tests.clips import RtspServer
from tests.pipeline.helpers import MemorySink, runner


class WaitingSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.cond = threading.Condition()

    def publish(self, message: ResultMessage) -> None:
        super().publish(message)
        with self.cond:
            self.cond.notify_all()

    def wait_count(self, n: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.messages) >= n, timeout)


def test_pipeline_resumes_within_5s_of_the_rtsp_server_return_and_counts_the_gap(short_clip: Path) -> None:
    sink = WaitingSink()
    det, _ = runner()
    with RtspServer(short_clip) as server:
        p = Pipeline([StreamPlan(SourceSettings("cam", parse_uri(server.uri)), ("det",))], [det], [sink])
        p.start()
        try:
            assert sink.wait_count(10, 20), f"no results from {server.uri}: {p.snapshot()}"
            server.stop()
            assert p.sources["cam"].machine.wait_for(SourceState.RECONNECTING, timeout=10)
            time.sleep(5.0)  # the outage itself
            before = len(sink.messages)
            server.start()
            back = time.monotonic()
            assert sink.wait_count(before + 1, 10), "no result after the server came back"
            resumed = time.monotonic() - back
            health = p.snapshot().streams["cam"]
        finally:
            assert p.stop(drain=True, timeout=10)
    assert resumed < 5.0, f"results resumed {resumed:.1f} s after the server came back"
    assert isinstance(health, StreamHealth)
    assert health.state == "running" and health.reconnects == 1
    assert health.gap_seconds >= 5.0 and health.gap_frames >= 5 * 15 - 2  # at the stream's 15 fps
    frames = sink.frames("cam", "det")
    assert frames == sorted(frames) and len(set(frames)) == len(frames)
    final = p.snapshot().streams["cam"]
    assert isinstance(final, StreamHealth)
    assert final.frames_read == final.inferred + final.dropped  # a burst on reconnect may drop a few
