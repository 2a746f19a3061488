"""A model's TensorRT engine as ``/api/status`` reports it: state, time waited, build progress."""

from __future__ import annotations

from dataclasses import dataclass

from edge.engines.manager import EngineState, EngineStatus


@dataclass(frozen=True)
class EngineReport:
    """``elapsed``: seconds since the daemon asked for the engine (queued time included), while
    it builds; ``progress``: TensorRT's overall fraction (None until its first phase starts);
    ``phase``: the active phases, e.g. "Building engine > Tactic selection (3/40)"."""

    state: str  # ready, building, failed, unavailable
    elapsed: float | None = None
    progress: float | None = None
    phase: str | None = None
    reason: str | None = None


def engine_report(status: EngineStatus, since: float | None, now: float) -> EngineReport:
    if status.state is not EngineState.BUILDING:
        return EngineReport(status.state.value, reason=status.reason)
    p = status.progress
    elapsed = round(now - since, 1) if since is not None else None
    if p is None:
        return EngineReport(status.state.value, elapsed, phase="queued or starting")
    fraction = round(p.fraction, 4) if p.fraction is not None else None
    return EngineReport(status.state.value, elapsed, fraction, p.text)
