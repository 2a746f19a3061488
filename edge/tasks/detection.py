"""Object detection: the result type, YOLOv8/YOLO11 decoding and the v1 JSON shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.preprocess import Geometry
from edge.tasks.boxes import cxcywh_to_xyxy, nms
from edge.tasks.params import InferenceParams
from edge.tasks.v1 import ImageSize, box_fields, boxes_from_v1, class_names_from_v1, envelope, new_id, new_ids


def _check(name: str, arr: npt.NDArray[np.generic], ndim: int, n: int, tail: tuple[int, ...] = ()) -> None:
    if arr.ndim != ndim or arr.shape[0] != n or (tail and arr.shape[1:] != tail):
        want = "(" + ", ".join(["n", *map(str, tail)]) + ")"
        raise EdgeError(f"{name} must have shape {want} with n={n}, got {arr.shape}")


@dataclass(frozen=True)
class Detections:
    """n detections in pixels of the original image.

    ``xyxy`` (n, 4) float64 corners, ``confidence`` (n,) float32, ``class_id`` (n,) int64
    indexing ``class_names``; ``detection_id`` one UUID string per detection.
    """

    xyxy: npt.NDArray[np.float64]
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int64]
    class_names: tuple[str, ...]
    image: ImageSize
    detection_id: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        _check("xyxy", self.xyxy, 2, n, (4,))
        _check("confidence", self.confidence, 1, n)
        _check("class_id", self.class_id, 1, n)
        if n and (self.class_id.min() < 0 or self.class_id.max() >= len(self.class_names)):
            raise EdgeError(f"class_id must index the {len(self.class_names)} class names, got {self.class_id.max()}")
        if not self.detection_id:
            object.__setattr__(self, "detection_id", new_ids(n))
        elif len(self.detection_id) != n:
            raise EdgeError(f"detection_id must have {n} entries, got {len(self.detection_id)}")

    def __len__(self) -> int:
        return len(self.xyxy)

    def _items(self) -> list[dict[str, Any]]:
        items = box_fields(self.xyxy)
        for item, conf, cid, did in zip(items, self.confidence.tolist(), self.class_id.tolist(), self.detection_id):
            item["confidence"] = float(conf)
            item["class"] = self.class_names[cid]
            item["class_id"] = int(cid)
            item["detection_id"] = did
        return items

    def to_v1(self, inference_id: str | None = None, time: float | None = None) -> dict[str, Any]:
        doc = envelope(self.image, inference_id, time)
        doc["predictions"] = self._items()
        return doc

    @staticmethod
    def _parse_common(
        doc: Mapping[str, Any], class_names: tuple[str, ...] | None
    ) -> tuple[list[Mapping[str, Any]], dict[str, Any]]:
        preds = doc.get("predictions")
        if not isinstance(preds, list):
            raise EdgeError("v1 detection response must have a 'predictions' list")
        names = class_names_from_v1([(int(p["class_id"]), str(p["class"])) for p in preds], class_names)
        fields = {
            "xyxy": boxes_from_v1(preds),
            "confidence": np.array([p["confidence"] for p in preds], dtype=np.float32),
            "class_id": np.array([p["class_id"] for p in preds], dtype=np.int64),
            "class_names": names,
            "image": ImageSize.from_v1(doc),
            "detection_id": tuple(str(p.get("detection_id") or new_id()) for p in preds),
        }
        return preds, fields

    @classmethod
    def from_v1(cls, doc: Mapping[str, Any], class_names: tuple[str, ...] | None = None) -> Detections:
        _, fields = cls._parse_common(doc, class_names)
        return cls(**fields)


@dataclass(frozen=True)
class Candidates:
    """What survives thresholding and NMS for one image, in network coordinates."""

    rows: npt.NDArray[np.float32]  # (k, C) the raw prediction rows kept
    xyxy_net: npt.NDArray[np.float64]
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.int64]


def select(pred: npt.NDArray[np.floating], num_classes: int, params: InferenceParams) -> Candidates:
    """Threshold and NMS one image's (C, N) YOLOv8-layout predictions."""
    pred = np.asarray(pred, dtype=np.float32)
    # Score every anchor on the (C, N) layout as given and transpose only the survivors:
    # at 640 px that is 8400 anchors, of which a few dozen pass the threshold.
    conf = pred[4 : 4 + num_classes].max(axis=0)
    keep = np.flatnonzero(conf >= params.confidence)
    rows = np.ascontiguousarray(pred[:, keep].T)  # (k, C)
    conf = conf[keep]
    class_id = rows[:, 4 : 4 + num_classes].argmax(axis=1)
    xyxy = cxcywh_to_xyxy(rows[:, :4])
    idx = nms(xyxy, conf, class_id, params.overlap, params.max_detections)
    return Candidates(rows[idx], xyxy[idx], conf[idx], class_id[idx].astype(np.int64))


def decode_detection(
    pred: npt.NDArray[np.floating], geometry: Geometry, class_names: tuple[str, ...], params: InferenceParams
) -> Detections:
    c = select(pred, len(class_names), params)
    return Detections(
        geometry.boxes_to_source(c.xyxy_net),
        c.confidence,
        c.class_id,
        class_names,
        ImageSize(geometry.src_w, geometry.src_h),
    )
