"""Moving-shapes video clips for the demo, the tests and the benchmark.

A clip is a pure function of its :class:`ClipSpec`: shapes (and arrows) drawn with the
shapes world's geometry move at constant velocity over a fixed background, bouncing off the
edges. Sizes stay inside the ranges the fixture models were trained on, so the models find
what is drawn.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.demo.shapes import SHAPE_CLASSES, arrow_geometry, shape_polygon
from edge.errors import EdgeError

_SHIFT = 4  # fixed-point bits for sub-pixel polygon drawing
_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


class ClipKind(str, Enum):
    SHAPES = "shapes"  # circles, squares, triangles: detection, segmentation, semantic, multi-label
    ARROWS = "arrows"  # arrows and a distractor shape: keypoints
    SINGLE = "single"  # one large shape near the centre, a new class every two seconds: classification


@dataclass(frozen=True)
class ClipSpec:
    kind: ClipKind = ClipKind.SHAPES
    width: int = 640
    height: int = 480
    fps: float = 15.0
    frames: int = 300
    seed: int = 0

    def __post_init__(self) -> None:
        if self.width < 64 or self.height < 64:
            raise EdgeError(f"clip size must be at least 64x64, got {self.width}x{self.height}")
        if self.fps <= 0 or self.frames <= 0:
            raise EdgeError(f"clip fps and frames must be positive, got {self.fps} fps, {self.frames} frames")

    def key(self) -> str:
        raw = f"{self.kind.value}-{self.width}x{self.height}-{self.fps:g}-{self.frames}-{self.seed}"
        return f"{raw}-{hashlib.sha1(raw.encode()).hexdigest()[:8]}"


@dataclass
class _Mover:
    name: str  # a SHAPE_CLASSES name or "arrow"
    radius: float
    pos: npt.NDArray[np.float64]
    vel: npt.NDArray[np.float64]  # pixels per frame
    angle: float
    spin: float  # radians per frame
    colour: tuple[float, float, float]

    def step(self, w: int, h: int) -> None:
        self.pos = self.pos + self.vel
        self.angle += self.spin
        for axis, limit in ((0, w), (1, h)):
            if self.pos[axis] < self.radius or self.pos[axis] > limit - self.radius:
                self.vel[axis] = -self.vel[axis]
                self.pos[axis] = float(np.clip(self.pos[axis], self.radius, limit - self.radius))

    def outline(self) -> npt.NDArray[np.float64]:
        if self.name == "arrow":
            return arrow_geometry(self.pos, self.radius, self.angle)[0]
        return shape_polygon(self.name, self.pos, self.radius, self.angle)


def _background(rng: np.random.Generator, w: int, h: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    c0, c1 = rng.uniform(0, 255, (2, 3))
    theta = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    proj = xx * np.cos(theta) + yy * np.sin(theta)
    t = (proj - proj.min()) / max(float(np.ptp(proj)), 1e-9)
    base = c0 + t[..., None] * (c1 - c0) + rng.normal(0.0, 8.0, (h, w, 3))
    return np.clip(np.round(base), 0, 255).astype(np.uint8), np.stack([c0, c1])


def _colour(rng: np.random.Generator, ends: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    # Far from every colour along the gradient so the shape stands out wherever it moves (the
    # models' training scenes keep fill and background at least 150 apart in L1).
    ramp = ends[0] + np.linspace(0.0, 1.0, 11)[:, None] * (ends[1] - ends[0])
    for _ in range(1000):
        c = rng.uniform(0, 255, 3)
        if np.abs(ramp - c).sum(axis=1).min() > 180:
            return (float(c[0]), float(c[1]), float(c[2]))
    far = np.where(ends.mean(axis=0) > 127.5, 0.0, 255.0)
    return (float(far[0]), float(far[1]), float(far[2]))


def _movers(spec: ClipSpec, rng: np.random.Generator, ends: npt.NDArray[np.float64]) -> list[_Mover]:
    w, h, s = spec.width, spec.height, float(min(spec.width, spec.height))
    kinds: list[tuple[str, float]]
    if spec.kind is ClipKind.SHAPES:
        kinds = [(SHAPE_CLASSES[i % 3], rng.uniform(0.09, 0.15) * s) for i in range(4)]
    elif spec.kind is ClipKind.ARROWS:
        kinds = [("arrow", rng.uniform(0.10, 0.16) * s) for _ in range(3)] + [("circle", 0.08 * s)]
    else:
        return [_Mover(SHAPE_CLASSES[0], 0.33 * s, np.array([w / 2, h / 2]), np.zeros(2), 0.0, 0.02, (0, 0, 0))]
    out: list[_Mover] = []
    for name, r in kinds:
        pos = _free_spot(rng, w, h, r, out)
        speed = rng.uniform(0.006, 0.012) * s
        heading = rng.uniform(0, 2 * np.pi)
        vel = speed * np.array([np.cos(heading), np.sin(heading)])
        out.append(_Mover(name, r, pos, vel, rng.uniform(0, 2 * np.pi), rng.uniform(-0.04, 0.04), _colour(rng, ends)))
    return out


def _free_spot(rng: np.random.Generator, w: int, h: int, r: float, placed: list[_Mover]) -> npt.NDArray[np.float64]:
    pos = np.array([rng.uniform(r, w - r), rng.uniform(r, h - r)])
    for _ in range(200):
        if all(np.hypot(*(pos - m.pos)) > 1.1 * (r + m.radius) for m in placed):
            break
        pos = np.array([rng.uniform(r, w - r), rng.uniform(r, h - r)])
    return pos


def _collide(movers: list[_Mover]) -> None:
    """Equal-mass elastic bounces, so shapes rarely overlap (overlaps confuse the models)."""
    for i, a in enumerate(movers):
        for b in movers[i + 1 :]:
            d = b.pos - a.pos
            dist = float(np.hypot(*d))
            if dist == 0 or dist > a.radius + b.radius:
                continue
            n = d / dist
            closing = float(np.dot(a.vel - b.vel, n))
            if closing > 0:  # approaching: exchange the velocity components along the normal
                a.vel, b.vel = a.vel - closing * n, b.vel + closing * n


def render_frames(spec: ClipSpec) -> Iterator[npt.NDArray[np.uint8]]:
    """The clip's frames, BGR uint8 (H, W, 3), in order."""
    rng = np.random.default_rng(spec.seed)
    background, ends = _background(rng, spec.width, spec.height)
    movers = _movers(spec, rng, ends)
    period = max(1, round(2 * spec.fps))  # SINGLE: a new class every two seconds
    single_colours = [_colour(rng, ends) for _ in SHAPE_CLASSES]
    for i in range(spec.frames):
        frame = background.copy()
        if spec.kind is ClipKind.SINGLE:
            m = movers[0]
            k = (i // period) % len(SHAPE_CLASSES)
            m.name, m.colour = SHAPE_CLASSES[k], single_colours[k]
            wobble = 0.05 * min(spec.width, spec.height) * np.array([np.sin(i / 9.0), np.cos(i / 13.0)])
            m.pos = np.array([spec.width / 2, spec.height / 2]) + wobble
        for m in movers:
            pts = np.round((m.outline() - 0.5) * (1 << _SHIFT)).astype(np.int32)
            cv2.fillPoly(frame, [pts], m.colour[::-1], lineType=cv2.LINE_AA, shift=_SHIFT)
            m.step(spec.width, spec.height)
        _collide(movers)
        yield frame


def write_clip(path: str | Path, spec: ClipSpec) -> Path:
    """Write the clip to ``path`` (.mp4: MPEG-4 part 2, .avi: Motion JPEG), atomically."""
    path = Path(path)
    fourcc = _FOURCC.get(path.suffix.lower())
    if fourcc is None:
        raise EdgeError(f"{path}: clip file must end in {' or '.join(_FOURCC)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*fourcc), spec.fps, (spec.width, spec.height))
    try:
        if not writer.isOpened():
            raise EdgeError(f"{path}: OpenCV cannot write {fourcc} video here")
        for frame in render_frames(spec):
            writer.write(frame)
    finally:
        writer.release()
    if not tmp.stat().st_size:
        tmp.unlink()
        raise EdgeError(f"{path}: OpenCV wrote an empty {fourcc} video")
    tmp.replace(path)
    return path


def cached_clip(cache_dir: str | Path, spec: ClipSpec, suffix: str = ".mp4") -> Path:
    """The clip for ``spec`` under ``cache_dir``, written on first use."""
    path = Path(cache_dir) / f"{spec.key()}{suffix}"
    if not path.is_file():
        write_clip(path, spec)
    return path
