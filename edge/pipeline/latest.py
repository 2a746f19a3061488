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
from edge.tasks.points import Points

# Frames awaiting their results, per stream. They leave once answered (or once a newer frame is),
# so these are the frames in flight, which the pipeline holds anyway; the bound is for a stalled
# model. A file stream whose decode runs ahead has about 9 in flight (the inbox, the batches of
# two instances): at 8, 10-15 % of its results came after their frame had gone.
KEEP = 12
# Answered frames kept apart from the ring above: when inference lags, new frames would push the
# newest answered one out between a client's latest.jpg and its latest.jpg?frame=N. References
# only, but each one pins a frame and its results beside what the pipeline holds: 4 cost 25 MB
# more peak than 2 on issue 18's crowd. The page asks for latest.json?frame=N, which the
# documents below answer for longer.
KEEP_ANSWERED = 2
# The results alone (no image) of the last answered frames, for latest.json?frame=N: a client
# under load may ask for a picture's documents a second or more after it got the picture.
KEEP_DOCUMENTS = 32
# ... and at most this many predictions and outline points in them together, the newest
# KEEP_ANSWERED frames' always kept. A point of a document read back as dicts is ~230 bytes;
# one of edge's own outlines (edge.tasks.points) ~40 (its array and its JSON), so a crowd of
# large masks (70 instances, ~24,000 points, issue 18) is ~1 MB a frame, and 32 of them ~30 MB
# of a pipeline meant to stay under 300 MB; boxes alone stay 32 frames deep.
DOCUMENT_BUDGET = 60_000
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


@dataclass(frozen=True)
class LatestDocuments:
    """An answered frame's results without its image (what ``latest.json`` needs)."""

    stream: str
    frame: int
    timestamp: float
    results: dict[str, ResultMessage]

    def documents(self) -> dict[str, dict[str, Any]]:
        return {m: r.to_payload() for m, r in sorted(self.results.items())}


def document_weight(results: dict[str, ResultMessage]) -> int:
    """Predictions plus outline points in a frame's documents: what their memory grows with."""
    n = 0
    for r in results.values():
        predictions = r.v1.get("predictions")
        if not isinstance(predictions, list):
            continue
        n += len(predictions)
        for p in predictions:
            points = p.get("points") if isinstance(p, dict) else None
            if isinstance(points, (list, Points)):  # edge's own outlines are Points, not lists
                n += len(points)
    return n


@dataclass
class _Held:
    frame: Frame
    models: tuple[str, ...]
    results: dict[str, ResultMessage] = field(default_factory=dict)


class LatestFrames:
    def __init__(
        self,
        keep: int = KEEP,
        keep_answered: int = KEEP_ANSWERED,
        keep_documents: int = KEEP_DOCUMENTS,
        document_budget: int = DOCUMENT_BUDGET,
    ) -> None:
        self._keep, self._keep_answered, self._keep_documents = keep, keep_answered, keep_documents
        self._budget = document_budget
        self._weights: dict[str, OrderedDict[int, int]] = {}  # document_weight per held document
        self._lock = threading.Lock()
        self._frames: dict[str, OrderedDict[int, _Held]] = {}
        self._answered: dict[str, OrderedDict[int, _Held]] = {}  # the last few complete frames
        self._documents: dict[str, OrderedDict[int, LatestDocuments]] = {}  # results only, longer
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
                self._settle(message.stream, message.frame)
                answered = self._answered.setdefault(message.stream, OrderedDict())
                answered[message.frame] = entry
                while len(answered) > self._keep_answered:
                    answered.popitem(last=False)
                self._keep_document(entry)

    def _settle(self, stream: str, seq: int) -> None:
        """Frame ``seq`` is answered: it and every older frame leave the ring of frames awaiting
        results. An older frame still waiting will never be the newest answered one, and a frame
        held after its answer would pin its pixels beside the ones the pipeline holds: about
        50 MB of peak on a 720p segmentation stream whose decode runs ahead (issue 18)."""
        held = self._frames.get(stream)
        while held and next(iter(held)) <= seq:
            held.popitem(last=False)

    def _keep_document(self, entry: _Held) -> None:
        """Hold an answered frame's results; the oldest go past the count or the budget."""
        f = entry.frame
        docs = self._documents.setdefault(f.stream, OrderedDict())
        weights = self._weights.setdefault(f.stream, OrderedDict())
        docs[f.seq] = LatestDocuments(f.stream, f.seq, f.timestamp, dict(entry.results))
        weights[f.seq] = document_weight(entry.results)
        total = sum(weights.values())
        while len(docs) > self._keep_documents or (len(docs) > self._keep_answered and total > self._budget):
            seq, _ = docs.popitem(last=False)
            total -= weights.pop(seq, 0)

    def forget(self, stream: str) -> None:
        """Drop a removed stream's frames (a stream added again under its name starts afresh)."""
        with self._lock:
            self._frames.pop(stream, None)
            self._answered.pop(stream, None)
            self._documents.pop(stream, None)
            self._weights.pop(stream, None)
            self._newest.pop(stream, None)

    def get(self, stream: str, frame: int | None = None) -> LatestFrame | None:
        """Frame ``frame`` if still held, else (``frame`` None) the newest one with all its results."""
        with self._lock:
            number = self._newest.get(stream) if frame is None else frame
            if number is None:
                return None
            entry = self._frames.get(stream, OrderedDict()).get(number)
            if entry is None:
                entry = self._answered.get(stream, OrderedDict()).get(number)
            if entry is None:
                return None
            f = entry.frame
            results = dict(entry.results)
        under = self.underlay(stream) if self.underlay is not None else None
        return LatestFrame(f.stream, f.seq, f.timestamp, f.image, results, entry.models, under)

    def documents(self, stream: str, frame: int | None = None) -> LatestFrame | LatestDocuments | None:
        """Like :meth:`get`, but an answered frame whose image is gone still has its results."""
        held = self.get(stream, frame)
        if held is not None or frame is None:
            return held
        with self._lock:
            return self._documents.get(stream, OrderedDict()).get(frame)
