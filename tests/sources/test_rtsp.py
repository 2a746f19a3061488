"""A real RTSP server (gst-rtsp-server) goes away for 5 s and comes back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edge.sources import Frame, Source, SourceSettings, SourceState, parse_uri
from tests.clips import RtspServer


def test_rtsp_reconnects_within_5s_of_the_server_return(small_clip: Path) -> None:
    frames: list[Frame] = []
    got = threading.Condition()

    def deliver(frame: Frame) -> bool:
        with got:
            frames.append(frame)
            got.notify_all()
        return True

    def wait_frames(n: int, timeout: float) -> bool:
        with got:
            return got.wait_for(lambda: len(frames) >= n, timeout)

    with RtspServer(small_clip) as server:
        src = Source(SourceSettings("cam", parse_uri(server.uri)), deliver)
        src.start()
        try:
            assert wait_frames(15, 15), f"no frames from {server.uri}: {src.status()}"
            server.stop()
            assert src.machine.wait_for(SourceState.RECONNECTING, timeout=10)
            before = len(frames)
            time.sleep(5.0)  # the outage itself
            server.start()
            back = time.monotonic()
            assert wait_frames(before + 1, 10)
            resumed = time.monotonic() - back
            assert src.state is SourceState.RUNNING
            st = src.status()
        finally:
            src.stop()
            assert src.join(10)
    assert resumed < 5.0, f"frames resumed {resumed:.1f} s after the server came back"
    assert st.reconnects == 1
    assert st.gap_seconds >= 5.0
    assert st.gap_frames >= 5.0 * 15 - 2  # estimated at the stream's 15 fps
    assert [f.seq for f in frames] == list(range(len(frames)))  # numbering continues across the gap
