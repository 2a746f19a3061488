"""Clips whose crossings are known: shapes of the shapes world on straight lines over a fixed
background, drawn for the fixture detector (320x240, shapes 0.1-0.15 of the frame)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.demo.shapes import shape_polygon

WIDTH, HEIGHT = 320, 240
_SHIFT = 4


@dataclass(frozen=True)
class Path2:
    """A shape at ``start`` (pixels) moving at ``velocity`` (pixels a second) from ``t0`` to ``t1``;
    hidden outside that time."""

    name: str
    start: tuple[float, float]
    velocity: tuple[float, float]
    t0: float = 0.0
    t1: float = 1e9
    radius: float = 26.0

    def at(self, t: float) -> tuple[float, float] | None:
        if not self.t0 <= t <= self.t1:
            return None
        dt = t - self.t0
        return (self.start[0] + self.velocity[0] * dt, self.start[1] + self.velocity[1] * dt)


COLOURS = {"circle": (40, 40, 230), "square": (230, 60, 40), "triangle": (30, 200, 240)}  # BGR, far from the grey


def background(seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = (np.arange(WIDTH) / WIDTH)[None, :, None] * np.array([40.0, 40.0, 40.0])
    return np.clip(100 + ramp + rng.normal(0, 5, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)


def write(path: Path, paths: list[Path2], seconds: float, fps: float = 10.0) -> Path:
    """An MPEG-4 clip of ``seconds`` at ``fps``."""
    base = background()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (WIDTH, HEIGHT))
    assert writer.isOpened(), f"OpenCV cannot write mp4v to {path}"
    try:
        for i in range(round(seconds * fps)):
            frame = base.copy()
            for p in paths:
                pos = p.at(i / fps)
                if pos is None:
                    continue
                outline = shape_polygon(p.name, np.array(pos), p.radius, 0.3)
                pts = np.round((outline - 0.5) * (1 << _SHIFT)).astype(np.int32)
                cv2.fillPoly(frame, [pts], COLOURS[p.name], lineType=cv2.LINE_AA, shift=_SHIFT)
            writer.write(frame)
    finally:
        writer.release()
    return path
