"""A sink that prints one human line per result, for the demo and for watching a stream by eye:

cam1 detect #42 local 3 objects: circle 0.91, square 0.88, circle 0.52 (12 ms)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from edge.messages import ResultMessage, Sink
from edge.tracking.output import TrackingOutput


def summarize(v1: Mapping[str, Any], max_items: int = 5) -> str:
    """What the v1 document found, in a few words, whatever the task."""
    preds = v1.get("predictions")
    if "segmentation_mask" in v1 or (isinstance(preds, Mapping) and "segmentation_mask" in preds):
        image = v1.get("image", {})
        return f"segmentation mask {image.get('width', '?')}x{image.get('height', '?')}"
    if "top" in v1:  # single-label classification
        return f"top: {v1['top'] or '-'} {float(v1.get('confidence', 0.0)):.2f}"
    if isinstance(preds, Mapping):  # multi-label classification: every class, with the chosen ones listed
        chosen = [c for c in v1.get("predicted_classes", []) if isinstance(preds.get(c), Mapping)]
        items = [f"{c} {float(preds[c].get('confidence', 0.0)):.2f}" for c in chosen]
        return "classes: " + _list(items, max_items) if items else "no class"
    if isinstance(preds, Sequence) and not isinstance(preds, str):
        if not preds:
            return "0 objects"
        items = [
            f"{p.get('class', '?')} {float(p.get('confidence', 0.0)):.2f}" for p in preds if isinstance(p, Mapping)
        ]
        noun = "object" if len(preds) == 1 else "objects"
        return f"{len(preds)} {noun}: " + _list(items, max_items)
    return "no predictions"


def _list(items: list[str], max_items: int) -> str:
    shown = ", ".join(items[:max_items])
    return shown if len(items) <= max_items else f"{shown}, ... (+{len(items) - max_items})"


def format_result(message: ResultMessage, max_items: int = 5) -> str:
    line = (
        f"{message.stream} {message.model} #{message.frame} {message.source.value} {summarize(message.v1, max_items)}"
    )
    if message.latency:
        line += f" ({sum(message.latency.values()) * 1000:.0f} ms)"
    return line


class ConsoleSink(Sink):
    """Writes :func:`format_result` lines to ``stream`` (default stdout), one per result."""

    def __init__(self, stream: TextIO | None = None, max_items: int = 5) -> None:
        self._stream = stream
        self._max_items = max_items
        self._lock = threading.Lock()  # several pipeline threads: whole lines, never interleaved

    def publish(self, message: ResultMessage) -> None:
        line = format_result(message, self._max_items) + "\n"
        out = self._stream or sys.stdout
        with self._lock:
            out.write(line)
            out.flush()

    def publish_tracking(self, output: TrackingOutput) -> None:
        """One line per tracking event: ``door event line.cross #7 person line=entrance direction=in``."""
        lines = [format_event(doc) + "\n" for doc in output.event_payloads()]
        if not lines:
            return
        out = self._stream or sys.stdout
        with self._lock:
            out.write("".join(lines))
            out.flush()


_EVENT_COMMON = ("type", "ts", "stream", "model", "tracker_id", "class", "source")


def format_event(doc: Mapping[str, Any]) -> str:
    extra = " ".join(f"{k}={v}" for k, v in doc.items() if k not in _EVENT_COMMON and not isinstance(v, list))
    head = f"{doc.get('stream')} event {doc.get('type')} #{doc.get('tracker_id')} {doc.get('class')}"
    return f"{head} {doc.get('source')}" + (f" {extra}" if extra else "")
