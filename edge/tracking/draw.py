"""Zones and lines drawn on a frame, with their counts: for snapshots (the demo's, and any
picture drawn from a tracked stream's results)."""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np
import numpy.typing as npt

from edge.tracking.settings import TrackingSettings

Image = npt.NDArray[np.uint8]
ZONE_COLOUR = (60, 200, 60)  # BGR
LINE_COLOUR = (0, 200, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def zone_label(name: str, counters: Mapping[str, object]) -> str:
    return f"{name}: {counters.get(f'zones/{name}/all', 0)} inside"


def line_label(name: str, counters: Mapping[str, object]) -> str:
    """The line's counts summed over its classes."""
    total = {"in": 0, "out": 0}
    for key, value in counters.items():
        if key.startswith(f"lines/{name}/") and isinstance(value, Mapping):
            for d in total:
                total[d] += int(value.get(d, 0))
    return f"{name}: in {total['in']} out {total['out']}"


def draw_tracking(image: Image, settings: TrackingSettings, counters: Mapping[str, object] | None = None) -> Image:
    """A copy of ``image`` (BGR) with every zone (shaded polygon) and line (with an arrow to its
    "in" side: the right-hand side from its first point to its second) and their counts."""
    counters = counters or {}
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    scale = np.array([w - 1, h - 1], dtype=np.float64)
    if settings.zones:
        shade = out.copy()
        for zone in settings.zones.values():
            pts = np.round(np.asarray(zone.polygon) * scale).astype(np.int32)
            cv2.fillPoly(shade, [pts], ZONE_COLOUR)
        cv2.addWeighted(shade, 0.25, out, 0.75, 0, dst=out)
    for name, zone in settings.zones.items():
        pts = np.round(np.asarray(zone.polygon) * scale).astype(np.int32)
        cv2.polylines(out, [pts], True, ZONE_COLOUR, 2, cv2.LINE_AA)
        x, y = pts.min(axis=0).tolist()
        _label(out, zone_label(name, counters), x + 4, y + 18, ZONE_COLOUR)
    for name, line in settings.lines.items():
        a, b = (np.asarray(p, dtype=np.float64) * scale for p in line.points)
        cv2.line(out, _pt(a), _pt(b), LINE_COLOUR, 2, cv2.LINE_AA)
        d = b - a
        normal = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)  # right-hand side on the image (y down)
        mid = (a + b) / 2
        cv2.arrowedLine(out, _pt(mid), _pt(mid + 25 * normal), LINE_COLOUR, 2, cv2.LINE_AA, tipLength=0.35)
        _label(out, line_label(name, counters), int(mid[0]) + 8, int(mid[1]) - 8, LINE_COLOUR)
    return out


def _pt(p: npt.NDArray[np.float64]) -> tuple[int, int]:
    return (int(round(p[0])), int(round(p[1])))


def _label(image: Image, text: str, x: int, y: int, bg: tuple[int, int, int]) -> None:
    (tw, th), base = cv2.getTextSize(text, _FONT, 0.5, 1)
    x = int(np.clip(x, 0, max(0, image.shape[1] - tw - 4)))
    y = int(np.clip(y, th + base + 2, image.shape[0]))
    cv2.rectangle(image, (x, y - th - base - 2), (x + tw + 4, y), bg, -1)
    cv2.putText(image, text, (x + 2, y - base), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
