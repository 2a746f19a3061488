from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.sources import (
    CaptureOptions,
    Frame,
    Source,
    SourceError,
    SourceSettings,
    SourceState,
    SourceUri,
    parse_uri,
)
from edge.sources.source import Opener


class Collect:
    def __init__(self, limit: int | None = None) -> None:
        self.frames: list[Frame] = []
        self.limit = limit
        self.event = threading.Event()

    def __call__(self, frame: Frame) -> bool:
        self.frames.append(frame)
        if self.limit is not None and len(self.frames) >= self.limit:
            self.event.set()
        return True


@pytest.fixture
def run_source() -> Iterator[list[Source]]:
    started: list[Source] = []
    yield started
    for s in started:
        s.stop()
        assert s.join(10), f"capture thread of {s.name} did not stop"


def start(started: list[Source], settings: SourceSettings, sink: Collect, opener: Opener | None = None) -> Source:
    src = Source(settings, sink, opener) if opener else Source(settings, sink)
    started.append(src)
    src.start()
    return src


def test_file_reads_every_frame_in_order(small_clip: Path, run_source: list[Source]) -> None:
    sink = Collect()
    src = start(run_source, SourceSettings("f", parse_uri(str(small_clip)), realtime=False), sink)
    assert src.machine.wait_for(SourceState.ENDED, timeout=30)
    assert [f.seq for f in sink.frames] == list(range(300))
    st = src.status()
    assert (st.frames_read, st.width, st.height, st.fps, st.backend) == (300, 320, 240, 15.0, "FFmpeg")
    assert [t.new for t in src.machine.history()] == [SourceState.RUNNING, SourceState.ENDED]
    assert sink.frames[0].image.shape == (240, 320, 3) and sink.frames[0].capture_s >= 0


def test_realtime_file_is_paced_to_its_fps(small_clip: Path, run_source: list[Source]) -> None:
    sink = Collect(limit=16)
    start(run_source, SourceSettings("f", parse_uri(str(small_clip))), sink)
    assert sink.event.wait(10)
    elapsed = sink.frames[15].captured - sink.frames[0].captured
    assert elapsed == pytest.approx(1.0, abs=0.15)  # 15 intervals at 15 fps


def test_looped_file_continues_numbering(small_clip: Path, run_source: list[Source]) -> None:
    sink = Collect(limit=450)
    start(run_source, SourceSettings("f", parse_uri(str(small_clip)), realtime=False, loop=True), sink)
    assert sink.event.wait(30)
    assert [f.seq for f in sink.frames[:450]] == list(range(450))


def test_missing_file_fails_with_one_line(
    tmp_path: Path, run_source: list[Source], caplog: pytest.LogCaptureFixture
) -> None:
    src = start(run_source, SourceSettings("gone", parse_uri(str(tmp_path / "nope.mp4"))), Collect())
    assert src.machine.wait_for(SourceState.FAILED, timeout=5)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"stream gone: {tmp_path / 'nope.mp4'}: no such file"]
    assert src.status().error == f"{tmp_path / 'nope.mp4'}: no such file"


def test_missing_device_logs_once_and_keeps_retrying(
    run_source: list[Source], caplog: pytest.LogCaptureFixture
) -> None:
    settings = SourceSettings("cam", parse_uri("v4l2:///dev/video99"), reconnect_initial=0.05, reconnect_max=0.1)
    src = start(run_source, settings, Collect())
    assert src.machine.wait_for(SourceState.RECONNECTING, timeout=5)
    time.sleep(0.5)  # several retries happen meanwhile; none of them logs again
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "stream cam: v4l2:///dev/video99: no such device /dev/video99 (is the camera plugged in?); retrying"
    ]
    assert src.state is SourceState.RECONNECTING
    src.stop()
    assert src.join(5)
    assert src.state is SourceState.ENDED


def test_live_source_gives_up_after_max_retries(run_source: list[Source]) -> None:
    settings = SourceSettings(
        "cam", parse_uri("/dev/video99"), reconnect_initial=0.01, reconnect_max=0.02, max_retries=3
    )
    src = start(run_source, settings, Collect())
    assert src.machine.wait_for(SourceState.FAILED, timeout=5)
    assert "gave up after 3 retries" in (src.status().error or "")


class ScriptedCapture:
    backend = "fake"

    def __init__(self, frames: int, fps: float) -> None:
        self.left = frames
        self.period = 1.0 / fps

    def read(self) -> np.ndarray | None:
        if self.left <= 0:
            return None
        self.left -= 1
        time.sleep(self.period)
        return np.zeros((8, 8, 3), np.uint8)

    def declared_fps(self) -> float | None:
        return 1.0 / self.period

    def release(self) -> None:
        pass


def scripted_opener(script: list[int | str], fps: float = 100.0) -> Opener:
    """Each open takes the next step: an int opens a capture with that many frames, a str fails."""
    steps = iter(script)

    def opener(uri: SourceUri, options: CaptureOptions) -> ScriptedCapture:
        step = next(steps, "exhausted")
        if isinstance(step, str):
            raise SourceError(f"{uri.text}: {step}")
        return ScriptedCapture(step, fps)

    return opener


def test_drop_reconnects_with_backoff_and_counts_the_gap(run_source: list[Source]) -> None:
    sink = Collect(limit=40)
    settings = SourceSettings("cam", parse_uri("rtsp://cam/s"), reconnect_initial=0.1, reconnect_max=0.2)
    src = start(run_source, settings, sink, scripted_opener([20, "refused", "refused", 50, "refused"]))
    assert sink.event.wait(10)
    st = src.status()
    # 0.1 s after the drop, then 0.1 and 0.2 s of failed opens: a gap of about 0.4 s at 100 fps.
    assert st.reconnects == 1
    assert 0.35 <= st.gap_seconds <= 1.0
    # Frames and seconds are estimated at slightly different instants: allow 10% on a busy machine.
    assert st.gap_frames == pytest.approx(st.gap_seconds * 100 - 1, rel=0.1, abs=1.5)
    assert [f.seq for f in sink.frames[:40]] == list(range(40))
    states = [t.new for t in src.machine.history()]
    assert states[:3] == [SourceState.RUNNING, SourceState.RECONNECTING, SourceState.RUNNING]


def test_a_stopped_pipeline_stops_the_source(small_clip: Path, run_source: list[Source]) -> None:
    calls = []

    def refuse_after_five(frame: Frame) -> bool:
        calls.append(frame.seq)
        return len(calls) < 5

    src = Source(SourceSettings("f", parse_uri(str(small_clip)), realtime=False), refuse_after_five)
    run_source.append(src)
    src.start()
    assert src.join(10)
    assert calls == [0, 1, 2, 3, 4]
    assert src.state is SourceState.ENDED
