"""The newest frame of each stream with its results, for the device's picture endpoints.

Fed by the pipeline where frames are delivered and where results are counted: it stores
references only (no copy, no encoding), and keeps the last few frames per stream so that a
client that read a frame number can still ask for that frame's documents.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.messages import ResultMessage
from edge.sources import Frame

KEEP = 8  # frames held per stream
# What to draw under a stream's results (its tracking zones and lines), by stream; None: nothing.
Underlay = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]]


@dataclass(frozen=True)
class LatestFrame:
    """A frame and its results by model; ``complete`` once every model of the stream answered."""

    stream: str
    frame: int
    timestamp: float
    image: npt.NDArray[np.uint8]
    results: dict[str, ResultMessage]
    models: tuple[str, ...]
    underlay: Underlay | None = None  # e.g. the stream's zones and lines, drawn before the results

    @property
    def complete(self) -> bool:
        return all(m in self.results for m in self.models)

    def documents(self) -> dict[str, dict[str, Any]]:
        """The v1 documents by model, with the stream fields a subscriber gets on MQTT."""
        return {m: r.to_payload() for m, r in sorted(self.results.items())}


@dataclass
class _Held:
    frame: Frame
    models: tuple[str, ...]
    results: dict[str, ResultMessage] = field(default_factory=dict)


class LatestFrames:
    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._frames: dict[str, OrderedDict[int, _Held]] = {}
        self._newest: dict[str, int] = {}  # the newest frame number with a result, per stream
        self.underlay: Callable[[str], Underlay | None] | None = None  # set by the pipeline (tracking)

    def offer(self, frame: Frame, models: tuple[str, ...]) -> None:
        with self._lock:
            held = self._frames.setdefault(frame.stream, OrderedDict())
            held[frame.seq] = _Held(frame, models)
            while len(held) > self._keep:
                held.popitem(last=False)

    def result(self, message: ResultMessage) -> None:
        with self._lock:
            entry = self._frames.get(message.stream, OrderedDict()).get(message.frame)
            if entry is None:
                return
            entry.results[message.model] = message
            if all(m in entry.results for m in entry.models):
                self._newest[message.stream] = max(message.frame, self._newest.get(message.stream, -1))

    def forget(self, stream: str) -> None:
        """Drop a removed stream's frames (a stream added again under its name starts afresh)."""
        with self._lock:
            self._frames.pop(stream, None)
            self._newest.pop(stream, None)

    def get(self, stream: str, frame: int | None = None) -> LatestFrame | None:
        """Frame ``frame`` if still held, else (``frame`` None) the newest one with all its results."""
        with self._lock:
            number = self._newest.get(stream) if frame is None else frame
            entry = self._frames.get(stream, OrderedDict()).get(number) if number is not None else None
            if entry is None:
                return None
            f = entry.frame
            results = dict(entry.results)
        under = self.underlay(stream) if self.underlay is not None else None
        return LatestFrame(f.stream, f.seq, f.timestamp, f.image, results, entry.models, under)
