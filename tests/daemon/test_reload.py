from __future__ import annotations

import logging
import signal
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.backends import Backend
from edge.backends.onnxruntime import OnnxRuntimeBackend
from edge.config import EdgeConfig, load_config, parse_config
from edge.daemon.models import EngineSupport, ModelLoader
from edge.daemon.reload import Reloader, ReloadPlan, files_changed, plan_reload, stamp
from edge.daemon.runner import Daemon, ReloadOutcome, RunSummary
from edge.engines.manager import EngineManager
from edge.engines.store import EngineStore
from edge.errors import EdgeError
from edge.messages import ResultMessage, Sink
from edge.models import ModelSpec
from edge.pipeline import Pipeline
from tests.daemon.edge_proc import EdgeRun, write_config
from tests.engines.common import DEVICE, FakeBuilder
from tests.helpers import FIXTURE_MODELS
from tests.mqtt_broker import Broker, Subscriber, first_occurrences
from tests.pipeline.helpers import MemorySink, runner

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
SEGMENT = FIXTURE_MODELS / "shapes-segment.onnx"

BASE = f"""\
models:
  det: {{path: {DETECT}, confidence: 0.4}}
  seg: {{path: {SEGMENT}}}
streams:
  a: {{uri: /clips/a.mp4, models: [det]}}
  b: {{uri: /clips/b.mp4, models: [det, seg]}}
"""


def edited(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("new_text", "changed", "expected"),
    [
        (BASE, (), ReloadPlan()),
        (BASE + "  c: {uri: /clips/c.mp4, models: [seg]}\n", (), ReloadPlan(streams_added=("c",))),
        (edited(("  b: {uri: /clips/b.mp4, models: [det, seg]}\n", "")), (), ReloadPlan(streams_removed=("b",))),
        (edited(("b.mp4, models: [det, seg]", "b.mp4, models: [det]")), (), ReloadPlan(streams_restarted=("b",))),
        (edited(("/clips/a.mp4", "/clips/a2.mp4")), (), ReloadPlan(streams_restarted=("a",))),
        (edited(("a.mp4, models: [det]}", "a.mp4, models: [det], fps: 5}")), (), ReloadPlan(streams_restarted=("a",))),
        (edited(("confidence: 0.4", "confidence: 0.9")), (), ReloadPlan(params_changed=("det",))),
        (edited(("confidence: 0.4", "confidence: 0.4, max_detections: 5")), (), ReloadPlan(params_changed=("det",))),
        (edited(("confidence: 0.4", "confidence: 0.4, max_batch: 2")), (), ReloadPlan(models_reopened=("det",))),
        (edited(("confidence: 0.4", "confidence: 0.4, instances: 1")), (), ReloadPlan(models_reopened=("det",))),
        (edited((f"det: {{path: {DETECT}", f"det: {{path: {SEGMENT}")), (), ReloadPlan(models_reopened=("det",))),
        (BASE, ("seg",), ReloadPlan(models_reopened=("seg",))),  # the same path, a rewritten file
        (
            edited(("  seg: {", "  pose: {path: " + str(FIXTURE_MODELS / "shapes-pose.onnx") + "}\n  seg: {")),
            (),
            ReloadPlan(models_added=("pose",)),
        ),
        (
            edited((f"  seg: {{path: {SEGMENT}}}\n", ""), ("[det, seg]", "[det]")),
            (),
            ReloadPlan(streams_restarted=("b",), models_removed=("seg",)),
        ),
        (BASE + "mqtt: {host: 127.0.0.1}\n", (), ReloadPlan(sinks_changed=True)),
        (BASE + "console: true\n", (), ReloadPlan(sinks_changed=True)),
        (BASE + "watchdog: {stall: 30}\n", (), ReloadPlan(watchdog_changed=True)),
        (BASE + "engines: /var/cache/engines\n", (), ReloadPlan(at_restart=("engines",))),
        (
            edited(("confidence: 0.4", "confidence: 0.5"), ("/clips/a.mp4", "/clips/x.mp4"))
            + "  c: {uri: /clips/c.mp4, models: [det]}\n",
            (),
            ReloadPlan(streams_added=("c",), streams_restarted=("a",), params_changed=("det",)),
        ),
    ],
    ids=[
        "unchanged",
        "stream-added",
        "stream-removed",
        "stream-models-changed",
        "stream-uri-changed",
        "stream-option-changed",
        "threshold",
        "max-detections",
        "model-option",
        "model-instances",
        "model-path",
        "model-file-rewritten",
        "model-added",
        "model-removed-with-its-stream-edited",
        "mqtt-added",
        "console",
        "watchdog",
        "engines",
        "several",
    ],
)
def test_plan(new_text: str, changed: tuple[str, ...], expected: ReloadPlan) -> None:
    old = parse_config(BASE, Path("/etc/edge/edge.yaml"))
    new = parse_config(new_text, Path("/etc/edge/edge.yaml"))
    assert plan_reload(old, new, changed) == expected


def test_plan_describes_itself_in_one_line() -> None:
    plan = ReloadPlan(streams_added=("c",), params_changed=("det",), sinks_changed=True)
    assert plan.describe() == "streams added: c; thresholds changed: det; sinks reconnected"
    assert ReloadPlan().describe() == "nothing changed" and ReloadPlan().empty


def test_a_rewritten_model_file_changes_its_stamp(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(DETECT.read_bytes())
    before = {"m": stamp(model), "pkg": stamp(FIXTURE_MODELS)}
    model.write_bytes(SEGMENT.read_bytes())
    after = {"m": stamp(model), "pkg": stamp(FIXTURE_MODELS)}
    assert files_changed(before, after) == {"m"}
    assert stamp(tmp_path / "gone.onnx") is None


# -- a running daemon, real components ------------------------------------------------------


def daemon_config(port: int, state: Path, models: str, streams: str, mqtt: str = "") -> str:
    return (
        f"models:\n{textwrap.indent(models, '  ')}\nstreams:\n{textwrap.indent(streams, '  ')}\n"
        f"mqtt: {{host: 127.0.0.1, port: {port}, device_id: dev, reconnect_delay_max: 2{mqtt}}}\n"
        f"state_dir: {state}\n"
    )


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Reloading:
    """A daemon on its own thread, its config file, and a way to reload it and wait."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        path.write_text(text)
        self.sink = MemorySink()
        self.daemon = Daemon(load_config(path), extra_sinks=[self.sink], stats_interval=0.5, flush_timeout=3.0)
        self.stop = threading.Event()
        self.summary: list[RunSummary] = []
        self.thread = threading.Thread(target=lambda: self.summary.append(self.daemon.run(self.stop, 120.0)))
        self.thread.start()

    def reload(self, text: str) -> ReloadOutcome:
        self.path.write_text(text)
        n = len(self.daemon.reloads)
        self.daemon.request_reload()
        wait_for(lambda: len(self.daemon.reloads) > n, "the reload")
        return self.daemon.reloads[-1]

    def frames(self, stream: str, model: str = "det") -> list[int]:
        return self.sink.frames(stream, model)

    def more_frames(self, stream: str, n: int = 10) -> None:
        have = len(self.frames(stream))
        wait_for(lambda: len(self.frames(stream)) >= have + n, f"{n} more results from {stream}")

    def results_since(self, stream: str, index: int) -> list[ResultMessage]:
        with self.sink._lock:
            return [m for m in self.sink.messages[index:] if m.stream == stream]

    def assert_unbroken(self, stream: str) -> None:
        frames = self.frames(stream)
        assert frames == list(range(len(frames))), f"{stream}: frames have a gap, a repeat or a restart"

    def finish(self) -> RunSummary:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive() and self.summary
        return self.summary[0]


def test_reload_applies_each_change_alone_and_keeps_the_old_config_on_an_error(
    tmp_path: Path, short_clip: Path, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    state = tmp_path / "state"
    loop = "loop: true"
    keep = f"keep: {{uri: {short_clip}, models: [det], {loop}}}"
    gone = f"gone: {{uri: {short_clip}, models: [det], {loop}}}"
    added = f"added: {{uri: {short_clip}, models: [det], {loop}}}"

    def cfg(models: str, streams: list[str], mqtt: str = "") -> str:
        return daemon_config(broker.port, state, models, "\n".join(streams), mqtt)

    det = f"det: {{path: {DETECT}, confidence: 0.4}}"
    with Subscriber(broker.port, ["edge/dev/+/+/predictions"], session="watcher").start() as sub:
        run = Reloading(tmp_path / "edge.yaml", cfg(det, [keep, gone]))
        try:
            run.more_frames("keep", 10)
            run.more_frames("gone", 5)

            out = run.reload(cfg(det, [keep, gone, added]))  # 1. a stream added
            assert out.applied and out.plan is not None and out.plan.streams_added == ("added",)
            run.more_frames("added", 5)
            assert run.frames("added")[:5] == [0, 1, 2, 3, 4]
            run.assert_unbroken("keep")

            out = run.reload(cfg(det, [keep, added]))  # 2. a stream removed
            assert out.applied and run.daemon.pipeline is not None
            assert "gone" not in run.daemon.pipeline.snapshot().streams
            pipeline = run.daemon.pipeline

            def settled() -> bool:  # a batch in flight when it stopped is still published
                return all(r.offered == r.inferred + r.dropped + r.errors for r in pipeline.routes("gone").values())

            wait_for(settled, "the removed stream's frames in flight")
            stopped_at = len(run.frames("gone"))
            run.more_frames("keep", 10)
            assert len(run.frames("gone")) == stopped_at
            run.assert_unbroken("keep")

            strict = f"det: {{path: {DETECT}, confidence: 0.9}}"
            before = run.results_since("keep", 0)
            assert any(p["confidence"] < 0.9 for m in before for p in m.v1["predictions"]), "a weak box to filter"
            out = run.reload(cfg(strict, [keep, added]))  # 3. a threshold
            assert out.plan is not None and out.plan.params_changed == ("det",)
            mark = len(run.sink.messages)
            run.more_frames("keep", 15)
            after = run.results_since("keep", mark)[2:]  # a batch decoding during the swap may predate it
            assert after and all(p["confidence"] >= 0.9 for m in after for p in m.v1["predictions"])
            assert any(m.v1["predictions"] for m in after)
            run.assert_unbroken("keep")

            seg = f"det: {{path: {SEGMENT}, confidence: 0.9}}"
            out = run.reload(cfg(seg, [keep, added]))  # 4. the model's file
            assert out.plan is not None and out.plan.models_reopened == ("det",)
            mark = len(run.sink.messages)
            run.more_frames("keep", 15)
            after = run.results_since("keep", mark)[2:]
            assert any(m.v1["predictions"] for m in after)
            assert all("points" in p for m in after for p in m.v1["predictions"])  # segmentation now
            run.assert_unbroken("keep")

            broker.stop()  # 5. MQTT settings change while results wait in the spool
            run.more_frames("keep", 10)
            out = run.reload(cfg(seg, [keep, added], ", client_id: edge-reloaded"))
            assert out.plan is not None and out.plan.sinks_changed
            run.more_frames("keep", 5)
            broker.start()
            so_far = set(run.frames("keep"))
            sub.wait_for(
                lambda msgs: so_far <= {d["frame"] for d in first_occurrences(msgs) if d["stream"] == "keep"},
                40.0,
                "the results spooled across the sink change, over MQTT once the broker is back",
            )
            run.assert_unbroken("keep")

            broken = cfg(seg.replace("confidence", "confidnce"), [keep, added])  # 6. a broken config
            out = run.reload(broken)
            assert not out.applied
            line = 1 + broken.splitlines().index(next(ln for ln in broken.splitlines() if "confidnce" in ln))
            assert out.lines == (f"{run.path}:{line}: models.det.confidnce: unknown key; did you mean 'confidence'?",)
            assert f"reload: {run.path}:{line}: models.det.confidnce" in caplog.text
            mark = len(run.sink.messages)
            run.more_frames("keep", 10)
            after = run.results_since("keep", mark)
            assert all("points" in p and p["confidence"] >= 0.9 for m in after for p in m.v1["predictions"])
            run.assert_unbroken("keep")
        finally:
            summary = run.finish()
        assert summary.clean
        run.assert_unbroken("keep")
        local = set(run.frames("keep"))
        sub.wait_for(
            lambda msgs: local <= {d["frame"] for d in first_occurrences(msgs) if d["stream"] == "keep"},
            30.0,
            "every local result of the unchanged stream over MQTT, across the sink change",
        )


class EngineStandIn:
    """TensorRT without TensorRT: a fake builder (gated at will) and engines opened on ONNX Runtime."""

    def __init__(self, engines: Path) -> None:
        self.store = EngineStore(engines)
        self.build = FakeBuilder()
        self.opened: list[Path] = []

    def open_engine(self, spec: ModelSpec, engine: Path) -> Backend:
        self.opened.append(engine)
        return OnnxRuntimeBackend(spec.onnx_path, threads=1)

    def __call__(self) -> EngineSupport:
        return EngineSupport(EngineManager(self.store, self.build, DEVICE), self.open_engine)


def test_a_tensorrt_model_reopens_through_a_background_build_while_its_stream_waits(
    short_clip: Path, tmp_path: Path
) -> None:
    support = EngineStandIn(tmp_path / "engines")

    def cfg(precision: str) -> str:
        return (
            f"models:\n  det: {{path: {DETECT}, backend: tensorrt, tensorrt: {{precision: {precision}}}}}\n"
            f"streams:\n  cam: {{uri: {short_clip}, models: [det], loop: true}}\n"
        )

    path = tmp_path / "edge.yaml"
    path.write_text(cfg("fp16"))
    sink = MemorySink()
    daemon = Daemon(load_config(path), extra_sinks=[sink], stats_interval=0.3, engine_support=support)
    stop = threading.Event()
    thread = threading.Thread(target=daemon.run, args=(stop, 60.0))
    thread.start()
    try:
        wait_for(lambda: len(sink.frames("cam", "det")) >= 5, "results from the first engine")
        gate = threading.Event()
        support.build.gate = gate  # the next build waits until the test lets it finish
        path.write_text(cfg("fp32"))
        daemon.request_reload()
        wait_for(lambda: len(daemon.reloads) == 1, "the reload")
        assert daemon.reloads[0].plan is not None and daemon.reloads[0].plan.models_reopened == ("det",)
        assert daemon.pipeline is not None
        assert daemon.pipeline.waiting_models()["det"].startswith("building: ")
        held = len(sink.frames("cam", "det"))
        time.sleep(0.5)
        assert len(sink.frames("cam", "det")) == held  # the file stream waits for the engine
        gate.set()
        wait_for(lambda: len(sink.frames("cam", "det")) >= held + 10, "results from the rebuilt engine")
        assert daemon.pipeline.waiting_models() == {}
        assert len(support.build.calls) == 2 and len(support.opened) == 2
        frames = sink.frames("cam", "det")
        assert frames == list(range(len(frames)))  # nothing lost while it waited, no restart
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_model_file_rewritten_broken_keeps_the_old_model_until_it_is_fixed(short_clip: Path, tmp_path: Path) -> None:
    model = tmp_path / "det.onnx"
    model.write_bytes(DETECT.read_bytes())
    text = f"models:\n  det: {{path: {model}}}\nstreams:\n  cam: {{uri: {short_clip}, models: [det], loop: true}}\n"
    run = Reloading(tmp_path / "edge.yaml", text)
    try:
        run.more_frames("cam", 5)
        model.write_bytes(b"not a model")
        out = run.reload(text)
        assert out.applied and out.plan is not None and out.plan.models_reopened == ("det",)
        assert len(out.lines) == 1 and out.lines[0].startswith("models.det: ")
        assert out.lines[0].endswith("; the model keeps running as it was")
        run.more_frames("cam", 10)  # still the old model
        model.write_bytes(SEGMENT.read_bytes())
        out = run.reload(text)
        assert out.applied and out.lines == ()
        mark = len(run.sink.messages)
        run.more_frames("cam", 10)
        after = run.results_since("cam", mark)[2:]
        assert any(m.v1["predictions"] for m in after)
        assert all("points" in p for m in after for p in m.v1["predictions"])
        run.assert_unbroken("cam")
    finally:
        summary = run.finish()
    assert summary.ok


def test_new_sinks_that_cannot_open_fall_back_to_the_previous_settings(
    short_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge.daemon.runner

    opened: list[bool] = []

    def build_sinks(config: EdgeConfig) -> list[Sink]:
        opened.append(config.console)
        if config.console:
            raise EdgeError("console: cannot open stdout")
        return []

    monkeypatch.setattr(edge.daemon.runner, "build_sinks", build_sinks)
    text = f"models:\n  det: {{path: {DETECT}}}\nstreams:\n  cam: {{uri: {short_clip}, models: [det], loop: true}}\n"
    run = Reloading(tmp_path / "edge.yaml", text)
    try:
        run.more_frames("cam", 5)
        out = run.reload(text + "console: true\n")
        assert out.applied and out.plan is not None and out.plan.sinks_changed
        assert out.lines == ("sinks: console: cannot open stdout; publishing with the previous settings",)
        assert opened == [False, True, False]  # at start, the new settings, the old ones again
        run.more_frames("cam", 10)  # the caller's sink stayed in place throughout
        run.assert_unbroken("cam")
    finally:
        run.finish()


def test_sighup_reloads_a_running_edge_run_process(short_clip: Path, tmp_path: Path) -> None:
    stream = {"uri": str(short_clip), "models": ["det"], "loop": True}
    cfg = write_config(tmp_path / "edge.yaml", {"a": stream}, {"det": DETECT}, None, tmp_path / "state")
    with EdgeRun(cfg, tmp_path / "edge.log") as proc:
        wait_for(lambda: "model det: object-detection" in proc.stderr(), "the daemon to start", 30)
        write_config(cfg, {"a": stream, "b": stream}, {"det": DETECT}, None, tmp_path / "state")
        proc.signal(signal.SIGHUP)
        wait_for(lambda: "edge: reload: streams added: b" in proc.stderr(), "the reload to be logged", 30)
        cfg.write_text(cfg.read_text().replace('"loop"', '"lop"', 1))
        proc.signal(signal.SIGHUP)
        wait_for(lambda: "the running config stays in effect" in proc.stderr(), "the refusal", 30)
        line = 1 + next(i for i, text in enumerate(cfg.read_text().splitlines()) if '"lop"' in text)
        assert f"edge: error: reload: {cfg}:{line}: streams.a.lop: unknown key; did you mean 'loop'?" in proc.stderr()
        proc.signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert "stream b: " in proc.stderr()  # its results were summed up at the end


def test_the_reloader_reports_progress_between_slow_steps(short_clip: Path) -> None:
    """Each stream stopped may take seconds: the daemon pings systemd's watchdog in between."""
    text = f"models:\n  det: {{path: {DETECT}}}\nstreams:\n" + "".join(
        f"  s{i}: {{uri: {short_clip}, models: [det], loop: true}}\n" for i in range(3)
    )
    old = parse_config(text)
    new = parse_config(text.split("  s1:")[0])  # s1 and s2 removed
    det, _ = runner()
    pipeline = Pipeline(old.streams, [det], [MemorySink()])
    pipeline.start()
    calls: list[str] = []
    try:
        reloader = Reloader(pipeline, ModelLoader([]), lambda c: [], alive=lambda: calls.append("alive"))
        plan = plan_reload(old, new)
        assert reloader.apply(plan, old, new) == []
        assert calls == ["alive", "alive"] and set(pipeline.snapshot().streams) == {"s0"}
    finally:
        pipeline.stop(drain=False)
