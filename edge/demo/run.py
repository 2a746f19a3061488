"""``edge demo``: the daemon on moving-shapes clips, a local broker, and what a subscriber gets.

1. Draws three clips (cached under ``OUT/clips``): moving shapes, moving arrows, one large shape.
2. Starts a local mosquitto on a free port (installing it with apt-get when running as root;
   otherwise it prints the command and the demo goes on with results handed over in-process).
3. Writes ``OUT/edge.yaml`` (a config ``edge run`` accepts as is) and runs the daemon on it,
   every fixture model on the stream that suits it, the clips looping like live cameras.
4. Subscribes like any MQTT client, prints a live summary of what arrives, and writes a few
   annotated snapshots per model to ``OUT/snapshots``, drawn from the received JSON alone.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import load_config
from edge.daemon.runner import Daemon, RunSummary
from edge.demo.broker import APT_HINT, LocalBroker, find_mosquitto, install_mosquitto
from edge.demo.clip import ClipKind, ClipSpec, cached_clip
from edge.demo.observer import Observer, ObserverSink
from edge.errors import EdgeError
from edge.messages import Sink

log = logging.getLogger("edge.demo")

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "models"
DEVICE = "demo"

# The shapes stream tracks its detections: a line across the middle (moving down is "in") and a
# zone in the centre, counted per class and shown in the console and on the snapshots.
TRACKED_STREAM, TRACKED_MODEL = "shapes", "detect"
TRACKING: dict[str, Any] = {
    "tracking": {"model": TRACKED_MODEL, "confirm_hits": 2},
    "lines": {"middle": {"points": [[0.0, 0.5], [1.0, 0.5]], "anchor": "center"}},
    "zones": {"centre": {"polygon": [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7]], "anchor": "center"}},
}

# stream -> (clip kind, fixture models that suit it)
STREAMS: dict[str, tuple[ClipKind, tuple[str, ...]]] = {
    "shapes": (ClipKind.SHAPES, ("detect", "segment", "semantic", "multilabel")),
    "arrows": (ClipKind.ARROWS, ("pose",)),
    "single": (ClipKind.SINGLE, ("classify",)),
}


@dataclass(frozen=True)
class DemoOptions:
    duration: float = 20.0
    out: Path = Path("demo-output")
    models_dir: Path = FIXTURES
    width: int = 640
    height: int = 480
    fps: float = 15.0
    frames: int = 300
    broker: bool = True  # False: skip MQTT, hand results over in-process
    refresh: float = 2.0

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise EdgeError(f"--duration must be more than 0 seconds, got {self.duration}")


def plan_streams(opts: DemoOptions) -> tuple[dict[str, tuple[Path, tuple[str, ...]]], dict[str, Path]]:
    """Clips to play and models to run on each; models whose file is missing are left out."""
    models = {task: opts.models_dir / f"shapes-{task}.onnx" for _, tasks in STREAMS.values() for task in tasks}
    present = {t: p for t, p in models.items() if p.is_file()}
    for t in sorted(set(models) - set(present)):
        log.warning("demo: %s not found; the demo runs without it", models[t])
    streams: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for i, (name, (kind, tasks)) in enumerate(STREAMS.items()):
        use = tuple(t for t in tasks if t in present)
        if not use:
            continue
        spec = ClipSpec(kind, opts.width, opts.height, opts.fps, opts.frames, seed=100 + i)
        streams[name] = (cached_clip(opts.out / "clips", spec), use)
    if not streams:
        raise EdgeError(f"no fixture models in {opts.models_dir}; run tools/train_fixtures.py")
    return streams, present


def write_config(opts: DemoOptions, port: int | None) -> Path:
    streams, models = plan_streams(opts)
    doc: dict[str, Any] = {
        # Six models share the cores: one ONNX Runtime thread each, the workers run side by side.
        "models": {task: {"path": str(path.resolve()), "threads": 1} for task, path in models.items()},
        "streams": {
            name: {"uri": str(clip.resolve()), "models": list(tasks), "live": True, "loop": True}
            for name, (clip, tasks) in streams.items()
        },
        "state_dir": str((opts.out / "state").resolve()),
    }
    tracked = doc["streams"].get(TRACKED_STREAM)
    if tracked is not None and TRACKED_MODEL in tracked["models"]:
        tracked.update(TRACKING)
    if port is not None:
        doc["mqtt"] = {"host": "127.0.0.1", "port": port, "device_id": DEVICE, "stats_interval": opts.refresh}
    path = opts.out / "edge.yaml"
    opts.out.mkdir(parents=True, exist_ok=True)
    header = "# Written by `edge demo`; run it yourself with: edge run --config " + str(path) + "\n"
    path.write_text(header + json.dumps(doc, indent=2) + "\n")  # JSON is YAML
    return path


class Subscriber:
    """A plain paho subscriber to every topic of the demo device."""

    def __init__(self, port: int, observer: Observer) -> None:
        self.observer = observer
        self.base = f"edge/{DEVICE}"
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="edge-demo-subscriber")
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise EdgeError(f"demo subscriber could not subscribe on 127.0.0.1:{port}")

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(f"{self.base}/#", qos=1)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic == f"{self.base}/status":
                self.observer.on_status(msg.payload.decode())
            elif msg.topic == f"{self.base}/stats":
                self.observer.on_stats(json.loads(msg.payload))
            elif msg.topic.endswith("/predictions"):
                self.observer.on_result(json.loads(msg.payload))
            elif msg.topic.endswith("/events"):
                self.observer.on_event(json.loads(msg.payload))
            elif msg.topic.count("/") == 5 and msg.topic.split("/")[3] in ("zones", "lines"):
                _, _, stream, kind, name, cls = (unquote(p) for p in msg.topic.split("/"))
                self.observer.on_counter(
                    stream, f"{kind}/{name}/{cls}", json.loads(msg.payload) if msg.payload else None
                )
        except Exception:  # a bad message must not stop the subscriber; the count shows it
            log.exception("demo: could not handle a message on %s", msg.topic)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _start_broker(opts: DemoOptions) -> LocalBroker | None:
    if not opts.broker:
        return None
    binary = find_mosquitto() or install_mosquitto()
    if binary is None:
        print(f"demo: mosquitto is not installed; install it with `{APT_HINT}` to see results over MQTT.")
        print("demo: going on without a broker: results are handed to the subscriber in-process.")
        return None
    broker = LocalBroker(binary)
    broker.start()
    print(f"demo: mosquitto listening on 127.0.0.1:{broker.port}")
    return broker


def _summary(observer: Observer, summary: RunSummary, out: Path, via: str) -> list[str]:
    lines = [
        "",
        f"demo finished ({summary.reason}) after {summary.seconds:.1f} s; results arrived {via}:",
    ]
    for name, s in summary.streams.items():
        lines.append(
            f"  stream {name}: {s.frames_read} frames read, {s.inferred} results, {s.dropped} dropped "
            f"(newest frame wins), latency p50 {s.latency_p50 * 1000:.0f} ms p95 {s.latency_p95 * 1000:.0f} ms"
        )
    for (stream, model), t in sorted(observer.topics.items()):
        topic = f"edge/{DEVICE}/{stream}/{model}/predictions"
        lines.append(f"  {topic}: {t.received} results received, {t.out_of_order} out of order")
    if observer.status:
        lines.append(f"  edge/{DEVICE}/status: {' -> '.join(observer.status)}")
    lines += observer.tracking_lines()
    snaps = observer.snapshots()
    lines.append(f"  {len(snaps)} annotated snapshots in {out}/snapshots/")
    lines.append(f"  the config that ran: {out}/edge.yaml")
    return lines


def run_demo(opts: DemoOptions, stop: threading.Event) -> int:
    broker = _start_broker(opts)
    subscriber: Subscriber | None = None
    try:
        config_path = write_config(opts, broker.port if broker else None)
        config = load_config(config_path)
        clips = {p.name: Path(p.source.uri.target) for p in config.streams}
        targets = [round(opts.fps * t) for t in (1.0, opts.duration / 2, max(1.5, opts.duration - 2))]
        tracking = {p.name: p.tracking for p in config.streams if p.tracking is not None}
        observer = Observer(opts.out / "snapshots", clips, targets, tracking)
        extra: list[Sink] = []
        if broker is not None:
            subscriber = Subscriber(broker.port, observer)
        else:
            extra.append(ObserverSink(observer))
        summary = _run_daemon(Daemon(config, extra, stats_interval=opts.refresh), stop, opts, observer)
        expected = sum(s.inferred for s in summary.streams.values())
        deadline = time.monotonic() + 10
        # The last results, and the daemon's "offline", may still be on their way through the broker.
        while time.monotonic() < deadline and (
            observer.received() < expected or (broker is not None and observer.last_status() != "offline")
        ):
            time.sleep(0.05)
        via = f"over MQTT (broker 127.0.0.1:{broker.port})" if broker else "in-process (no broker)"
        print("\n".join(_summary(observer, summary, opts.out, via)))
        return 0 if summary.clean and observer.received() >= expected else 1
    finally:
        if subscriber is not None:
            subscriber.close()
        if broker is not None:
            broker.stop()


def _run_daemon(daemon: Daemon, stop: threading.Event, opts: DemoOptions, observer: Observer) -> RunSummary:
    result: dict[str, RunSummary] = {}
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result["summary"] = daemon.run(stop, opts.duration)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    t = threading.Thread(target=target, name="edge-demo-daemon", daemon=True)
    t0 = time.monotonic()
    t.start()
    while t.is_alive():
        t.join(opts.refresh)
        if t.is_alive():
            print("\n".join(observer.console_lines(time.monotonic() - t0)), flush=True)
    if errors:
        raise errors[0]
    return result["summary"]
