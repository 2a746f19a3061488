from __future__ import annotations

import logging
import textwrap
import threading
from pathlib import Path

import pytest

from edge.config import parse_config
from edge.daemon.runner import Daemon, RunSummary
from tests.helpers import FIXTURE_MODELS
from tests.pipeline.helpers import MemorySink

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"


def config(clip: Path, extra_streams: str = "", extra_models: str = "", **stream: object) -> str:
    opts = "".join(f"\n    {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in stream.items())
    return (
        textwrap.dedent(f"""\
        models:
          det: {{path: {DETECT}}}
        """)
        + extra_models
        + textwrap.dedent(f"""\
        streams:
          cam:
            uri: {clip}
            models: [det]""")
        + opts
        + "\n"
        + extra_streams
    )


def run(
    text: str, stop: threading.Event | None = None, duration: float | None = None, **kw: object
) -> tuple[RunSummary, MemorySink]:
    sink = MemorySink()
    daemon = Daemon(parse_config(text), extra_sinks=[sink], **kw)  # type: ignore[arg-type]
    summary = daemon.run(stop or threading.Event(), duration)
    return summary, sink


def test_file_stream_runs_to_its_end_and_closes_sinks(short_clip: Path) -> None:
    summary, sink = run(config(short_clip, realtime="false"))
    assert summary.reason == "ended" and summary.ok
    assert sink.frames("cam", "det") == list(range(60))
    assert sink.closed
    assert summary.streams["cam"].inferred == 60
    assert sink.stats and sink.stats[-1].streams["cam"].state == "ended"  # final stats, after the drain


def test_duration_stops_a_looping_stream_and_drains(short_clip: Path) -> None:
    summary, sink = run(config(short_clip, loop="true"), duration=1.5)
    assert summary.reason == "duration"
    h = summary.streams["cam"]
    assert 15 <= h.frames_read <= 40  # about 1.5 s at 15 fps
    assert sink.frames("cam", "det") == list(range(h.frames_read))  # drained: nothing read is lost


def test_stop_event_drains_every_frame_read(short_clip: Path) -> None:
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    summary, sink = run(config(short_clip), stop=stop)
    assert summary.reason == "signal"
    h = summary.streams["cam"]
    assert 0 < h.frames_read < 60 and h.dropped == 0
    assert sink.frames("cam", "det") == list(range(h.frames_read))


def test_stats_go_to_sinks_periodically(short_clip: Path) -> None:
    _, sink = run(config(short_clip, loop="true"), duration=1.6, stats_interval=0.5)
    assert 3 <= len(sink.stats) <= 5  # three on schedule, one final
    assert sink.stats[0].models == {"det": "ready"}


def test_broken_model_and_missing_file_leave_the_rest_running(
    short_clip: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    text = config(
        short_clip,
        extra_models=f"  bad: {{path: {broken}}}\n",
        extra_streams=f"  gone:\n    uri: {tmp_path / 'missing.mp4'}\n    models: [det]\n",
        realtime="false",
    ).replace("models: [det]\n", "models: [det, bad]\n", 1)
    with caplog.at_level(logging.INFO):
        summary, sink = run(text)
    assert sink.frames("cam", "det") == list(range(60))
    assert summary.failed_streams == ("gone",) and summary.failed_models == ("bad",)
    assert not summary.ok
    assert summary.models["bad"].startswith("failed: ")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and all("\n" not in e for e in errors)
    assert any(e.startswith("model bad: ") for e in errors)
    assert f"stream gone: {tmp_path / 'missing.mp4'}: no such file" in errors
