"""The shapes world: synthetic scenes used to train, test and demo the fixture models.

Every scene is a pure function of a ``numpy.random.Generator``, so a seed reproduces it
exactly. The rules (sizes, spacing, colours, classes) are those of the fixture-model
specification in ``tests/fixtures/models/README.md``; change them and the committed models
no longer describe the world they were trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import cv2
import numpy as np
import numpy.typing as npt

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle")
SEMANTIC_CLASSES: tuple[str, ...] = ("background", *SHAPE_CLASSES)
ARROW_CLASSES: tuple[str, ...] = ("arrow",)
ARROW_KEYPOINTS: tuple[str, ...] = ("tip", "right", "left")
ARROW_SKELETON: tuple[tuple[int, int], ...] = ((0, 1), (1, 2), (2, 0))

CIRCLE_SIDES = 64
_SUBPIXEL_BITS = 4
_MIN_FILL_DISTANCE = 150  # L1 distance between fill and the background under the shape
_SPACING = 1.05  # centres at least this many times (r1 + r2) apart


class SceneKind(str, Enum):
    """Which labelling a scene is drawn for."""

    DETECT = "detect"  # also instance and semantic segmentation
    POSE = "pose"
    CLASSIFY = "classify"
    MULTILABEL = "multilabel"


@dataclass(frozen=True)
class Scene:
    """One drawn image and its ground truth, all in pixels of ``image``.

    ``polygons[i]`` is the outline of object i, ``boxes`` its tight (n, 4) xyxy box,
    ``class_ids`` (n,) its class in the scene kind's class list, and ``keypoints``
    (n, 3, 2) the arrow keypoints for pose scenes (empty otherwise). ``semantic`` is the
    (H, W) uint8 map over ``SEMANTIC_CLASSES``; ``labels`` the set of classes present.
    """

    image: npt.NDArray[np.uint8]
    class_ids: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float64]
    polygons: tuple[npt.NDArray[np.float64], ...]
    keypoints: npt.NDArray[np.float64]
    semantic: npt.NDArray[np.uint8]
    labels: frozenset[int] = field(default_factory=frozenset)

    def instance_masks(self) -> npt.NDArray[np.bool_]:
        """(n, H, W) filled polygon masks, one per object."""
        h, w = self.image.shape[:2]
        masks = np.zeros((len(self.polygons), h, w), dtype=np.uint8)
        for i, poly in enumerate(self.polygons):
            cv2.fillPoly(masks[i], [_fixed(poly)], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
        return masks.astype(bool)


def _fixed(poly: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    # cv2 draws at sub-pixel precision from fixed-point coordinates; -0.5 moves from
    # "pixel centres at integers" (cv2) to "pixel corners at integers" (our geometry).
    return np.round((poly - 0.5) * (1 << _SUBPIXEL_BITS)).astype(np.int32)


def regular_polygon(
    center: npt.NDArray[np.float64], radius: float, sides: int, angle: float
) -> npt.NDArray[np.float64]:
    """(sides, 2) vertices of a regular polygon of circumradius ``radius``."""
    theta = angle + np.arange(sides) * (2 * np.pi / sides)
    return center + radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)


def shape_polygon(
    class_name: str, center: npt.NDArray[np.float64], radius: float, angle: float
) -> npt.NDArray[np.float64]:
    sides = {"circle": CIRCLE_SIDES, "square": 4, "triangle": 3}[class_name]
    return regular_polygon(center, radius, sides, angle if class_name != "circle" else 0.0)


def arrow_geometry(
    center: npt.NDArray[np.float64], size: float, angle: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The arrow's (4, 2) outline and its (3, 2) keypoints tip, right, left."""
    u = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-u[1], u[0]])
    tip = center + size * u
    right = center - 0.5 * size * u + 0.45 * size * n
    left = center - 0.5 * size * u - 0.45 * size * n
    notch = center - 0.2 * size * u  # makes the outline an arrowhead, not a plain triangle
    return np.stack([tip, right, notch, left]), np.stack([tip, right, left])


def _background(rng: np.random.Generator, h: int, w: int) -> npt.NDArray[np.float64]:
    kind = rng.integers(3)
    if kind == 0:
        base = np.broadcast_to(rng.uniform(0, 255, 3), (h, w, 3)).astype(np.float64)
    elif kind == 1:
        c0, c1 = rng.uniform(0, 255, (2, 3))
        theta = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        proj = xx * np.cos(theta) + yy * np.sin(theta)
        t = (proj - proj.min()) / max(float(np.ptp(proj)), 1e-9)
        base = c0 + t[..., None] * (c1 - c0)
    else:
        cells = int(rng.integers(4, 9))
        grid = rng.uniform(0, 255, (cells, cells, 3)).astype(np.float32)
        base = np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255)
        base = base.astype(np.float64)
    sigma = rng.uniform(5, 30)
    return base + rng.normal(0.0, sigma, (h, w, 3))


def _place(
    rng: np.random.Generator, h: int, w: int, radii: list[float], tries: int = 200
) -> list[npt.NDArray[np.float64] | None]:
    """Centres wholly inside the image and spaced apart; None for an object that did not fit."""
    centres: list[npt.NDArray[np.float64] | None] = []
    placed: list[tuple[npt.NDArray[np.float64], float]] = []
    for r in radii:
        centre = None
        for _ in range(tries):
            c = np.array([rng.uniform(r, w - r), rng.uniform(r, h - r)])
            if all(np.hypot(*(c - c2)) >= _SPACING * (r + r2) for c2, r2 in placed):
                centre = c
                placed.append((c, r))
                break
        centres.append(centre)
    return centres


def _coverage(poly: npt.NDArray[np.float64], h: int, w: int) -> npt.NDArray[np.float64]:
    alpha = np.zeros((h, w), dtype=np.uint8)
    cv2.fillPoly(alpha, [_fixed(poly)], 255, lineType=cv2.LINE_AA, shift=_SUBPIXEL_BITS)
    return alpha.astype(np.float64) / 255.0


def _fill_colour(rng: np.random.Generator, under: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    for _ in range(1000):
        colour = rng.uniform(0, 255, 3)
        if np.abs(colour - under).sum() > _MIN_FILL_DISTANCE:
            return colour
    return np.where(under > 127.5, 0.0, 255.0)  # the farthest colour always qualifies


def _box(poly: npt.NDArray[np.float64], h: int, w: int) -> npt.NDArray[np.float64]:
    lo = np.clip(poly.min(axis=0), 0, [w, h])
    hi = np.clip(poly.max(axis=0), 0, [w, h])
    return np.concatenate([lo, hi])


def draw_scene(rng: np.random.Generator, width: int, height: int, kind: SceneKind) -> Scene:
    """Draw one scene of ``kind`` at ``width`` x ``height``."""
    h, w = height, width
    s = float(min(w, h))
    canvas = _background(rng, h, w)
    semantic = np.zeros((h, w), dtype=np.uint8)

    # (class name, label id or -1 for a distractor, radius)
    specs: list[tuple[str, int, float]] = []
    if kind is SceneKind.DETECT:
        for _ in range(int(rng.integers(1, 7))):
            cid = int(rng.integers(3))
            specs.append((SHAPE_CLASSES[cid], cid, rng.uniform(0.04 * s, 0.17 * s)))
    elif kind is SceneKind.POSE:
        for _ in range(int(rng.integers(1, 5))):
            specs.append(("arrow", 0, rng.uniform(0.05 * s, 0.17 * s)))
        for _ in range(int(rng.integers(0, 3))):
            specs.append((SHAPE_CLASSES[int(rng.integers(2))], -1, rng.uniform(0.04 * s, 0.17 * s)))
    elif kind is SceneKind.MULTILABEL:
        for _ in range(int(rng.integers(1, 4))):
            cid = int(rng.integers(3))
            specs.append((SHAPE_CLASSES[cid], cid, rng.uniform(0.12 * s, 0.22 * s)))
    else:
        cid = int(rng.integers(3))
        specs.append((SHAPE_CLASSES[cid], cid, rng.uniform(0.25 * s, 0.42 * s)))

    if kind is SceneKind.CLASSIFY:
        r = specs[0][2]
        offset = rng.uniform(-0.1 * s, 0.1 * s, 2)
        centre = np.clip(np.array([w / 2, h / 2]) + offset, [r, r], [w - r, h - r])
        centres: list[npt.NDArray[np.float64] | None] = [centre]
    else:
        centres = _place(rng, h, w, [r for _, _, r in specs])

    class_ids: list[int] = []
    boxes: list[npt.NDArray[np.float64]] = []
    polygons: list[npt.NDArray[np.float64]] = []
    keypoints: list[npt.NDArray[np.float64]] = []
    for (name, label, r), c in zip(specs, centres):
        if c is None:
            continue
        angle = rng.uniform(0, 2 * np.pi)
        if name == "arrow":
            poly, kpts = arrow_geometry(c, r, angle)
        else:
            poly, kpts = shape_polygon(name, c, r, angle), np.zeros((0, 2))
        alpha = _coverage(poly, h, w)
        inside = alpha > 0.5
        under = canvas[inside].mean(axis=0) if inside.any() else canvas.reshape(-1, 3).mean(axis=0)
        colour = _fill_colour(rng, under)
        canvas = canvas * (1 - alpha[..., None]) + colour * alpha[..., None]
        if label < 0:
            continue
        if name != "arrow":
            semantic[inside] = SEMANTIC_CLASSES.index(name)
        class_ids.append(label)
        polygons.append(poly)
        boxes.append(_box(poly, h, w))
        keypoints.append(kpts)

    image = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
    return Scene(
        image=np.ascontiguousarray(image[..., ::-1]),  # drawn as RGB, stored BGR like cv2
        class_ids=np.asarray(class_ids, dtype=np.int64),
        boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        polygons=tuple(polygons),
        keypoints=(
            np.asarray(keypoints, dtype=np.float64).reshape(-1, 3, 2) if kind is SceneKind.POSE else np.zeros((0, 3, 2))
        ),
        semantic=semantic,
        labels=frozenset(class_ids),
    )


HELD_OUT_SIZES: tuple[tuple[int, int], ...] = ((320, 320), (480, 360), (360, 480), (640, 480))


def held_out(seed: int, count: int, kind: SceneKind) -> list[Scene]:
    """``count`` scenes cycling through the held-out sizes, from one seed."""
    rng = np.random.default_rng(seed)
    return [draw_scene(rng, *HELD_OUT_SIZES[i % len(HELD_OUT_SIZES)], kind) for i in range(count)]
