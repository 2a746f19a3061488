"""Draw a hosted API v1 result onto its frame: boxes, polygons, keypoints, class maps, labels.

Works from the JSON document alone, exactly as a subscriber receives it, so a snapshot shows
what was published rather than what the pipeline held in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.tasks.points import Points
from edge.tasks.rle import rle_outline
from edge.tasks.v1 import png_from_b64

Image = npt.NDArray[np.uint8]

# Distinct BGR colours, indexed by class id.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (56, 56, 255),
    (151, 157, 255),
    (31, 112, 255),
    (29, 178, 255),
    (49, 210, 207),
    (10, 249, 72),
    (23, 204, 146),
    (134, 219, 61),
    (211, 188, 0),
    (209, 85, 0),
    (255, 115, 100),
    (142, 0, 255),
)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def colour(class_id: int) -> tuple[int, int, int]:
    return PALETTE[class_id % len(PALETTE)]


def _label(image: Image, text: str, x: int, y: int, bg: tuple[int, int, int], scale: float = 0.5) -> None:
    (w, h), base = cv2.getTextSize(text, _FONT, scale, 1)
    x = int(np.clip(x, 0, max(0, image.shape[1] - w - 4)))
    y = int(np.clip(y, h + base + 2, image.shape[0]))
    cv2.rectangle(image, (x, y - h - base - 2), (x + w + 4, y), bg, -1)
    cv2.putText(image, text, (x + 2, y - base), _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _draw_objects(image: Image, preds: Sequence[Mapping[str, Any]], labels: bool = True, stroke: int = 2) -> None:
    outlines: list[tuple[npt.NDArray[np.int32], tuple[int, int, int]]] = []
    for p in preds:
        pts = p.get("points")
        if pts:
            # An outline of edge's own results keeps its array (no dict per vertex to read).
            xy = pts.xy if isinstance(pts, Points) else [[q["x"], q["y"]] for q in pts]
            poly = np.rint(xy).astype(np.int32)
            if len(poly) > 8:  # within a pixel of the outline: a quarter of the segments to draw
                poly = np.asarray(cv2.approxPolyDP(poly, 1.0, True), dtype=np.int32).reshape(-1, 2)
            outlines.append((poly, colour(int(p.get("class_id", 0)))))
        elif "rle" in p:  # response_mask_format=rle: drawn by its outline, as a polygon item is
            poly = rle_outline(p["rle"]).astype(np.int32)
            if len(poly):
                outlines.append((poly, colour(int(p.get("class_id", 0)))))
    if outlines:
        # Blend only the window the polygons cover: one copy of that window, whatever n is.
        allp = np.concatenate([poly for poly, _ in outlines])
        h, w = image.shape[:2]
        x0, y0 = np.clip(allp.min(axis=0), 0, [w, h]).tolist()
        x1, y1 = np.clip(allp.max(axis=0) + 1, 0, [w, h]).tolist()
        if x1 > x0 and y1 > y0:
            window = image[y0:y1, x0:x1]
            overlay = window.copy()
            for poly, c in outlines:
                cv2.fillPoly(overlay, [poly], c, offset=(-x0, -y0))
            cv2.addWeighted(overlay, 0.55, window, 0.45, 0, dst=window)
    for poly, c in outlines:  # the mask's own outline, so it reads apart from the box
        # The halo plain, the line smooth over it: antialiased 3 px lines cost 5 times as much.
        cv2.polylines(image, [poly], True, (255, 255, 255), 3, cv2.LINE_8)
        cv2.polylines(image, [poly], True, c, 1, cv2.LINE_AA)
    for p in preds:
        c = colour(int(p.get("class_id", 0)))
        x0, y0 = int(round(p["x"] - p["width"] / 2)), int(round(p["y"] - p["height"] / 2))
        x1, y1 = int(round(p["x"] + p["width"] / 2)), int(round(p["y"] + p["height"] / 2))
        if stroke > 0:
            cv2.rectangle(image, (x0, y0), (x1, y1), c, stroke)
        for k in p.get("keypoints", []):
            centre = (int(round(k["x"])), int(round(k["y"])))
            cv2.circle(image, centre, 4, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(image, centre, 4, c, 1, cv2.LINE_AA)
            cv2.putText(image, str(k.get("class", "")), (centre[0] + 5, centre[1] - 3), _FONT, 0.35, c, 1, cv2.LINE_AA)
        if labels:
            tid = f"#{p['tracker_id']} " if "tracker_id" in p else ""  # a tracked stream's confirmed objects
            _label(image, f"{tid}{p.get('class', '?')} {float(p.get('confidence', 0)):.2f}", x0, y0, c)


def _draw_class_map(image: Image, doc: Mapping[str, Any]) -> None:
    body = doc if "segmentation_mask" in doc else doc.get("predictions", {})
    mask = png_from_b64(str(body["segmentation_mask"]))
    h, w = image.shape[:2]
    if mask.shape != (h, w):
        mask = np.asarray(cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
    lut = np.array([(0, 0, 0)] + [colour(i) for i in range(1, 256)], dtype=np.uint8)
    coloured = lut[mask]
    fg = mask > 0  # class 0 is the background: leave it as it was
    image[fg] = (0.7 * coloured[fg] + 0.3 * image[fg]).astype(np.uint8)
    names: Mapping[str, str] = body.get("class_map", {})
    present = sorted(int(v) for v in np.unique(mask) if v > 0)
    for cid in present:
        contours, _ = cv2.findContours((mask == cid).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(image, contours, -1, (255, 255, 255), 2, cv2.LINE_AA)
    for row, cid in enumerate(present):
        _label(image, names.get(str(cid), f"class {cid}"), 6, h - 8 - 20 * row, colour(cid))


def _draw_classes(image: Image, doc: Mapping[str, Any]) -> None:
    preds = doc.get("predictions")
    lines: list[tuple[str, int]] = []
    if isinstance(preds, Mapping):  # multi-label: every class with its confidence
        chosen = set(doc.get("predicted_classes", []))
        for name, v in sorted(preds.items(), key=lambda kv: -float(kv[1]["confidence"])):
            mark = "+" if name in chosen else "-"
            lines.append((f"{mark} {name} {float(v['confidence']):.2f}", int(v.get("class_id", 0))))
    elif isinstance(preds, list):
        for p in preds[:3]:
            lines.append((f"{p['class']} {float(p['confidence']):.2f}", int(p.get("class_id", 0))))
    for row, (text, cid) in enumerate(lines):
        _label(image, text, 6, 50 + 24 * row, colour(cid), scale=0.6)


def annotate(
    image: Image, doc: Mapping[str, Any], title: str = "", labels: bool = True, stroke: int = 2, boxes: bool = True
) -> Image:
    """A copy of ``image`` (BGR) with ``doc`` (a v1 result) drawn on it; ``labels`` and
    ``stroke`` (box line width) as the hosted API's parameters of the same names; ``boxes``
    False leaves the boxes out (masks, keypoints and labels are still drawn)."""
    out = np.ascontiguousarray(image.copy())
    body = doc.get("predictions")
    if "segmentation_mask" in doc or (isinstance(body, Mapping) and "segmentation_mask" in body):
        _draw_class_map(out, doc)
    elif isinstance(body, Mapping) or "top" in doc:
        _draw_classes(out, doc)
    elif isinstance(body, list):
        _draw_objects(out, body, labels, stroke if boxes else 0)
    if title:
        _label(out, title, 6, 22, (40, 40, 40), scale=0.55)
    return out
