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

    def __init__(self, out_dir: Path, clips: Mapping[str, Path], targets: list[int]) -> None:
        self.out_dir = out_dir
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
        return lines


class ObserverSink(Sink):
    """Feeds the observer in-process with exactly the payloads MQTT would carry (no broker)."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer

    def publish(self, message: ResultMessage) -> None:
        self.observer.on_result(message.to_payload())

    def publish_stats(self, stats: StatsSnapshot) -> None:
        self.observer.on_stats(stats.to_payload())
