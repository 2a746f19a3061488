"""Build progress: TensorRT's nested phases turned into a fraction and a line of text.

TensorRT reports progress through ``IProgressMonitor`` (``phase_start(name, parent, steps)``,
``step_complete(name, step)``, ``phase_finish(name)``) from the build thread. The builder
forwards those calls here; readers on other threads take :class:`ProgressSnapshot` copies.
Returning False from :meth:`ProgressTracker.step` is how a build is cancelled.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger("edge.engines")


@dataclass(frozen=True)
class PhaseProgress:
    name: str
    steps: int
    done: int


@dataclass(frozen=True)
class ProgressSnapshot:
    """The chain of active phases, outermost first, and the overall fraction (None: no phase yet)."""

    phases: tuple[PhaseProgress, ...]
    fraction: float | None
    elapsed: float

    @property
    def text(self) -> str:
        if not self.phases:
            return "starting"
        inner = self.phases[-1]
        names = " > ".join(p.name for p in self.phases)
        return f"{names} ({inner.done}/{inner.steps})" if inner.steps > 0 else names


@dataclass
class _Phase:
    name: str
    parent: str | None
    steps: int
    done: int = 0


class ProgressTracker:
    """Thread-safe record of the active build phases; ``listener`` hears every change."""

    def __init__(self, listener: Callable[[ProgressSnapshot], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._phases: dict[str, _Phase] = {}  # insertion order = start order
        self._cancelled = threading.Event()
        self._listener = listener
        self._t0 = time.monotonic()

    def phase_start(self, name: str, parent: str | None, steps: int) -> None:
        with self._lock:
            self._phases.pop(name, None)  # a phase name seen again starts afresh, last in order
            self._phases[name] = _Phase(name, parent or None, max(0, steps))
        self._notify()

    def step(self, name: str, step: int) -> bool:
        """Record ``step`` (0-based) of ``name`` as complete; False asks TensorRT to stop."""
        with self._lock:
            if name in self._phases:
                self._phases[name].done = max(self._phases[name].done, step + 1)
        self._notify()
        return not self._cancelled.is_set()

    def phase_finish(self, name: str) -> None:
        with self._lock:
            self._phases.pop(name, None)
            # Children of a finished phase cannot still be running.
            for n in [n for n, p in self._phases.items() if p.parent == name]:
                del self._phases[n]
        self._notify()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            chain = self._chain()
            fraction = self._fraction(chain)
            phases = tuple(PhaseProgress(p.name, p.steps, p.done) for p in chain)
        return ProgressSnapshot(phases, fraction, time.monotonic() - self._t0)

    def _chain(self) -> list[_Phase]:
        """Root phase, then at each level the most recently started child still active."""
        roots = [p for p in self._phases.values() if p.parent is None or p.parent not in self._phases]
        if not roots:
            return []
        chain = [roots[0]]
        while True:
            children = [p for p in self._phases.values() if p.parent == chain[-1].name]
            if not children:
                return chain
            chain.append(children[-1])

    @staticmethod
    def _fraction(chain: list[_Phase]) -> float | None:
        if not chain:
            return None
        inner = 0.0
        for p in reversed(chain):
            inner = min(1.0, (p.done + inner) / p.steps) if p.steps > 0 else inner
        return inner

    def _notify(self) -> None:
        if self._listener is None:
            return
        try:
            self._listener(self.snapshot())
        except Exception:  # a display problem must never abort a ten-minute build
            log.exception("progress listener failed")


class TextProgressBar:
    """Draws a snapshot as one self-overwriting line on a terminal, or as a line per phase
    change elsewhere (logs, pipes), at most every ``interval`` seconds."""

    def __init__(self, stream: TextIO | None = None, width: int = 30, interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.interval = interval
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_draw = 0.0
        self._last_phase = ""
        self._drawn = False

    @staticmethod
    def render(snap: ProgressSnapshot, width: int = 30) -> str:
        f = snap.fraction or 0.0
        filled = int(round(f * width))
        bar = "#" * filled + "-" * (width - filled)
        return f"[{bar}] {f * 100:5.1f}%  {int(snap.elapsed) // 60:d}:{int(snap.elapsed) % 60:02d}  {snap.text}"

    def __call__(self, snap: ProgressSnapshot) -> None:
        now = time.monotonic()
        phase = " > ".join(p.name for p in snap.phases)
        if self._tty:
            if now - self._last_draw < self.interval and phase == self._last_phase:
                return
            self.stream.write("\r\x1b[K" + self.render(snap, self.width)[:200])
            self._drawn = True
        elif phase != self._last_phase and phase:
            self.stream.write(self.render(snap, self.width) + "\n")
        self.stream.flush()
        self._last_draw, self._last_phase = now, phase

    def close(self) -> None:
        if self._tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
