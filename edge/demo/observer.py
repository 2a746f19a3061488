"""What a subscriber sees in the demo: results per topic, the latest stats, annotated snapshots."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.demo.annotate import annotate
from edge.messages import ResultMessage, Sink, StatsSnapshot
from edge.tracking.draw import draw_tracking, line_label, zone_label
from edge.tracking.output import TrackingOutput
from edge.tracking.settings import TrackingSettings


@dataclass
class TopicCount:
    received: int = 0
    last_frame: int = -1
    last_summary: str = ""
    out_of_order: int = 0


def describe(doc: Mapping[str, Any]) -> str:
    """A few words about one v1 result, for the console."""
    preds = doc.get("predictions")
    if "segmentation_mask" in doc:
        names = doc.get("class_map", {})
        return f"class map over {len(names)} classes"
    if isinstance(preds, Mapping):
        chosen = doc.get("predicted_classes", [])
        return "labels: " + (", ".join(chosen) if chosen else "none")
    if "top" in doc:
        return f"top: {doc['top']} {float(doc.get('confidence', 0)):.2f}"
    if isinstance(preds, list):
        classes = [str(p.get("class", "?")) for p in preds]
        counts = {c: classes.count(c) for c in sorted(set(classes))}
        return f"{len(preds)} objects" + (f" ({', '.join(f'{n} {c}' for c, n in counts.items())})" if preds else "")
    return "?"


@dataclass
class _Snapshots:
    targets: list[int]
    saved: list[Path] = field(default_factory=list)


class Observer:
    """Consumes result and stats payloads (dicts, as published) and keeps what the demo shows.

    ``clips`` maps a stream to the video file it plays, so a snapshot shows the exact frame a
    result belongs to (``frame`` modulo the clip's length, since the demo loops its clips).
    """

    def __init__(
        self,
        out_dir: Path,
        clips: Mapping[str, Path],
        targets: list[int],
        tracking: Mapping[str, TrackingSettings] | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.tracking = dict(tracking or {})  # stream -> its zones and lines, drawn on its snapshots
        self.counters: dict[str, dict[str, object]] = {}  # stream -> retained counter values received
        self.events: dict[str, dict[str, int]] = {}  # stream -> event type -> how many arrived
        self.clips = dict(clips)
        self._targets = sorted(targets)
        self._lock = threading.Lock()
        self.topics: dict[tuple[str, str], TopicCount] = {}
        self.stats: dict[str, Any] | None = None
        self.status: list[str] = []
        self._snaps: dict[tuple[str, str], _Snapshots] = {}

    def on_result(self, payload: Mapping[str, Any]) -> None:
        key = (str(payload["stream"]), str(payload["model"]))
        frame = int(payload["frame"])
        with self._lock:
            t = self.topics.setdefault(key, TopicCount())
            t.received += 1
            if frame <= t.last_frame:
                t.out_of_order += 1
            t.last_frame = frame
            t.last_summary = describe(payload)
            snaps = self._snaps.setdefault(key, _Snapshots(list(self._targets)))
            due = bool(snaps.targets) and frame >= snaps.targets[0]
            if due:
                while snaps.targets and frame >= snaps.targets[0]:
                    snaps.targets.pop(0)
        if due:
            path = self._snapshot(key, frame, payload)
            if path is not None:
                with self._lock:
                    snaps.saved.append(path)

    def on_counter(self, stream: str, key: str, value: object) -> None:
        """A retained counter (``zones/<zone>/<class>`` or ``lines/<line>/<class>``); None: cleared."""
        with self._lock:
            values = self.counters.setdefault(stream, {})
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value

    def on_event(self, payload: Mapping[str, Any]) -> None:
        with self._lock:
            kinds = self.events.setdefault(str(payload.get("stream", "?")), {})
            kinds[str(payload.get("type"))] = kinds.get(str(payload.get("type")), 0) + 1

    def tracking_lines(self) -> list[str]:
        """Per tracked stream: each line's counts and each zone's occupancy, and the events so far."""
        with self._lock:
            counters = {k: dict(v) for k, v in self.counters.items()}
            events = {k: dict(v) for k, v in self.events.items()}
        out = []
        for stream, settings in sorted(self.tracking.items()):
            values = counters.get(stream, {})
            parts = [line_label(n, values) for n in settings.lines] + [zone_label(n, values) for n in settings.zones]
            kinds = events.get(stream, {})
            told = ", ".join(f"{n} {t}" for t, n in sorted(kinds.items())) or "none yet"
            out.append(f"  {stream} tracking: {' | '.join(parts)}; events: {told}")
        return out

    def on_stats(self, payload: Mapping[str, Any]) -> None:
        with self._lock:
            self.stats = dict(payload)

    def on_status(self, text: str) -> None:
        with self._lock:
            self.status.append(text)

    def last_status(self) -> str | None:
        with self._lock:
            return self.status[-1] if self.status else None

    def received(self) -> int:
        with self._lock:
            return sum(t.received for t in self.topics.values())

    def snapshots(self) -> list[Path]:
        with self._lock:
            return [p for s in self._snaps.values() for p in s.saved]

    def _frame(self, stream: str, frame: int) -> npt.NDArray[np.uint8] | None:
        path = self.clips.get(stream)
        if path is None:
            return None
        cap = cv2.VideoCapture(str(path))
        try:
            length = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
            cap.set(cv2.CAP_PROP_POS_FRAMES, frame % length)
            ok, image = cap.read()
        finally:
            cap.release()
        return np.asarray(image, dtype=np.uint8) if ok else None

    def _snapshot(self, key: tuple[str, str], frame: int, payload: Mapping[str, Any]) -> Path | None:
        image = self._frame(key[0], frame)
        if image is None:
            return None
        settings = self.tracking.get(key[0])
        if settings is not None and settings.model == key[1]:
            with self._lock:
                values = dict(self.counters.get(key[0], {}))
            image = draw_tracking(image, settings, values)
        drawn = annotate(image, payload, f"{key[0]} / {key[1]}  frame {frame}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{key[0]}-{key[1]}-{frame:05d}.jpg"
        cv2.imwrite(str(path), drawn, [cv2.IMWRITE_JPEG_QUALITY, 90])
        return path

    def console_lines(self, elapsed: float) -> list[str]:
        with self._lock:
            stats = self.stats
            topics = sorted(self.topics.items())
        lines = [f"[{elapsed:5.1f} s]"]
        if stats:
            for name, s in stats.get("streams", {}).items():
                lines.append(
                    f"  stream {name:<8} {s['state']:<12} {s['fps_in']:5.1f} fps in {s['fps_out']:5.1f} out  "
                    f"dropped {s['dropped']:<5} latency p50 {s['latency_p50'] * 1000:4.0f} ms"
                )
        for (stream, model), t in topics:
            lines.append(f"  {stream}/{model:<11} {t.received:5d} results  last #{t.last_frame:<5} {t.last_summary}")
        return lines + self.tracking_lines()


class ObserverSink(Sink):
    """Feeds the observer in-process with exactly the payloads MQTT would carry (no broker)."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer

    def publish(self, message: ResultMessage) -> None:
        self.observer.on_result(message.to_payload())

    def publish_stats(self, stats: StatsSnapshot) -> None:
        self.observer.on_stats(stats.to_payload())

    def publish_tracking(self, output: TrackingOutput) -> None:
        for doc in output.event_payloads():
            self.observer.on_event(doc)
        for key, value in output.counters.items():
            self.observer.on_counter(output.stream, key, value)
