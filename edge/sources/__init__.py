"""Video sources: URIs, OpenCV capture, the capture thread and its state machine."""

from edge.sources.capture import Capture, CaptureOptions, open_capture
from edge.sources.source import Frame, FrameSink, Source, SourceSettings, SourceStatus
from edge.sources.state import Backoff, IllegalTransition, SourceState, StateMachine
from edge.sources.uri import SourceError, SourceKind, SourceUri, parse_uri

__all__ = [
    "Backoff",
    "Capture",
    "CaptureOptions",
    "Frame",
    "FrameSink",
    "IllegalTransition",
    "Source",
    "SourceError",
    "SourceKind",
    "SourceSettings",
    "SourceState",
    "SourceStatus",
    "SourceUri",
    "StateMachine",
    "open_capture",
    "parse_uri",
]
