"""Typed messages between the pipeline and its sinks (MQTT publisher, console, snapshots).

The pipeline produces :class:`ResultMessage` per (frame, model) and :class:`StatsSnapshot`
periodically; every sink implements :class:`Sink`. The payload a subscriber receives is the
hosted API v1 document plus the fields of :meth:`ResultMessage.to_payload`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from edge.errors import EdgeError

if TYPE_CHECKING:
    from edge.tracking.output import TrackingOutput


class ResultSource(str, Enum):
    LOCAL = "local"
    HOSTED = "hosted"


@dataclass(frozen=True)
class ResultMessage:
    """One model's result for one frame of one stream.

    ``frame`` is the stream's capture sequence number (0-based, gap-free for files);
    ``timestamp`` the capture time (Unix seconds); ``latency`` seconds per stage, e.g.
    ``{"capture": .., "queue": .., "preprocess": .., "infer": .., "postprocess": ..}``.
    ``v1`` is the hosted API v1 document exactly as ``Result.to_v1`` or the hosted API made it.
    """

    stream: str
    model: str
    frame: int
    timestamp: float
    source: ResultSource
    v1: dict[str, Any]
    latency: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.stream or not self.model:
            raise EdgeError("a result message needs a stream and a model name")
        if self.frame < 0:
            raise EdgeError(f"frame must be >= 0, got {self.frame}")
        if "image" not in self.v1:
            raise EdgeError("a result message's v1 document has no 'image'")

    def to_payload(self) -> dict[str, Any]:
        """The JSON object published for this result: the v1 document plus stream metadata."""
        payload = dict(self.v1)
        payload.update(
            stream=self.stream,
            model=self.model,
            frame=self.frame,
            timestamp=self.timestamp,
            source=self.source.value,
            latency={k: round(v, 6) for k, v in self.latency.items()},
        )
        return payload


@dataclass(frozen=True)
class StreamStats:
    fps_in: float
    fps_out: float
    dropped: int
    queue_depth: int
    latency_p50: float
    latency_p95: float
    state: str


@dataclass(frozen=True)
class HostedStats:
    """One model's hosted fallback: requests ``sent`` (retries included), ``answered``, ``failed``
    per HTTP status ("none": no answer), the breaker (``closed``, ``open``, ``half-open``), the
    fallback's ``state`` (``on`` or ``off: <why>``), requests ``left_today`` (None: no
    ``daily_limit``) and the mean and last upload sizes in bytes."""

    sent: int
    answered: int
    failed: dict[str, int]
    breaker: str
    state: str
    left_today: int | None
    upload_bytes_mean: int
    upload_bytes_last: int

    def __post_init__(self) -> None:
        if self.sent < 0 or self.answered < 0 or self.answered > self.sent:
            raise EdgeError(f"hosted stats: answered {self.answered} of {self.sent} sent is not a count")


@dataclass(frozen=True)
class ModelNotice:
    """A change an operator must act on, published on the status topic: e.g. a model's hosted
    fallback switched ``off`` after HTTP 402 (credits spent). ``reason`` is one line, no key."""

    model: str
    subject: str  # what changed, e.g. "hosted"
    state: str  # e.g. "on", "off"
    reason: str = ""
    timestamp: float = 0.0

    def to_payload(self) -> dict[str, Any]:
        return {
            "model": self.model,
            self.subject: self.state,
            "reason": self.reason,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True)
class StatsSnapshot:
    """Periodic health: per stream and per model (model value: its state, e.g. "ready");
    ``hosted`` per model with a hosted fallback."""

    timestamp: float
    streams: dict[str, StreamStats]
    models: dict[str, str]
    hosted: dict[str, HostedStats] = field(default_factory=dict)
    tracking: dict[str, dict[str, Any]] = field(default_factory=dict)  # per tracked stream (edge.tracking.hub)

    def to_payload(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "timestamp": self.timestamp,
            "streams": {name: vars(s).copy() for name, s in self.streams.items()},
            "models": dict(self.models),
        }
        if self.hosted:
            doc["hosted"] = {name: asdict(h) for name, h in self.hosted.items()}
        if self.tracking:
            doc["tracking"] = {name: dict(t) for name, t in self.tracking.items()}
        return doc


class Sink(ABC):
    """Where results go. ``publish`` must not block the pipeline for long: buffer or spool."""

    @abstractmethod
    def publish(self, message: ResultMessage) -> None: ...

    def publish_stats(self, stats: StatsSnapshot) -> None:  # noqa: B027 -- optional for sinks
        """Periodic stats; sinks that have no use for them ignore them."""

    def publish_notice(self, notice: ModelNotice) -> None:  # noqa: B027 -- optional for sinks
        """A model's state change for the status topic; sinks without one ignore it."""

    def publish_tracking(self, output: TrackingOutput) -> None:  # noqa: B027 -- optional for sinks
        """A tracked stream's events and changed counters; sinks without a use ignore them."""

    def close(self, timeout: float = 5.0) -> None:  # noqa: B027 -- optional for sinks
        """Flush what was accepted (within ``timeout`` seconds) and release resources."""
