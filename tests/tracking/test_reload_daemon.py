"""SIGHUP on a running daemon: zone and line changes apply in place, the stream runs on, an
unchanged line keeps its counts; a class the model lacks turns tracking off with one line."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from edge.config import load_config
from edge.daemon.runner import Daemon, ReloadOutcome, RunSummary
from edge.tracking.output import TrackingOutput
from tests.helpers import FIXTURE_MODELS
from tests.pipeline.helpers import MemorySink

CONFIG = """\
models:
  det: {{path: {model}}}
streams:
  door:
    uri: {clip}
    models: [det]
    loop: true
    tracking: {{model: det, confirm_hits: 2}}
    lines:
      a: {{points: [[0.0, 0.5], [1.0, 0.5]], classes: [circle, square, triangle]}}
{extra}
state_dir: {state}
"""
LINE_B = "      b: {points: [[0.5, 0.0], [0.5, 1.0]], classes: [circle]}"
ZONE = "    zones:\n      z: {polygon: [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]], classes: [circle]}"
# Line a unchanged; line b added; the zone's classes changed.
CHANGED = LINE_B + "\n" + ZONE.replace("classes: [circle]", "classes: [circle, square]")
BAD = LINE_B + "\n" + ZONE.replace("classes: [circle]", "classes: [hexagon]")


class TrackingSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.outputs: list[TrackingOutput] = []

    def publish_tracking(self, output: TrackingOutput) -> None:
        with self._lock:
            self.outputs.append(output)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_reload_changes_zones_and_lines_in_place(tmp_path: Path, short_clip: Path) -> None:
    path = tmp_path / "edge.yaml"

    def write(extra: str) -> None:
        path.write_text(
            CONFIG.format(model=FIXTURE_MODELS / "shapes-detect.onnx", clip=short_clip, state=tmp_path, extra=extra)
        )

    write(ZONE)
    sink = TrackingSink()
    daemon = Daemon(load_config(path), extra_sinks=[sink], stats_interval=0.5)
    stop = threading.Event()
    summary: list[RunSummary] = []
    thread = threading.Thread(target=lambda: summary.append(daemon.run(stop, 120.0)))
    thread.start()

    def reload(extra: str) -> ReloadOutcome:
        write(extra)
        n = len(daemon.reloads)
        daemon.request_reload()
        wait_for(lambda: len(daemon.reloads) > n, "the reload")
        return daemon.reloads[-1]

    try:
        wait_for(lambda: len(sink.frames("door", "det")) >= 20, "20 results")
        assert any("tracker_id" in p for m in sink.messages for p in m.v1["predictions"])
        mark = len(sink.outputs)
        out = reload(CHANGED)
        assert out.applied and out.plan is not None
        assert (out.plan.tracking_changed, out.plan.streams_restarted) == (("door",), ()), out.plan
        wait_for(lambda: any("lines/b/circle" in o.counters for o in sink.outputs[mark:]), "line b's counter")
        # Line a kept its counts: its counters change only with a crossing, never by the reload.
        for o in sink.outputs[mark:]:
            if any(k.startswith("lines/a/") for k in o.counters):
                assert any(e.type == "line.cross" and e.fields["line"] == "a" for e in o.events), o
        frames = sink.frames("door", "det")
        assert frames[: len(frames)] == sorted(frames)  # the stream ran on (its frame numbers did not restart)

        out = reload(BAD)
        assert out.applied
        assert any("streams.door.zones.z.classes: model det has no class 'hexagon'" in p for p in out.lines), out.lines
        count = len(sink.messages)
        wait_for(lambda: len(sink.messages) > count + 10, "results after tracking went off")
        assert all("tracker_id" not in p for m in sink.messages[count + 5 :] for p in m.v1["predictions"])
    finally:
        stop.set()
        thread.join(60)
    assert summary and summary[0].clean
