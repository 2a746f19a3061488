"""Keypoint detection: detections plus K named keypoints each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.preprocess import Geometry
from edge.tasks.detection import Detections, select
from edge.tasks.params import InferenceParams
from edge.tasks.v1 import ImageSize, envelope


@dataclass(frozen=True, kw_only=True)
class KeypointDetections(Detections):
    """Detections with ``keypoints_xy`` (n, K, 2) in original pixels and
    ``keypoints_confidence`` (n, K). ``keypoint_names[c]`` names class c's keypoints; slots
    past a class's own count are padding. Keypoints below ``keypoint_threshold`` or with
    confidence <= 0 are left out of the v1 output."""

    keypoints_xy: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0, 2)))
    keypoints_confidence: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    keypoint_names: tuple[tuple[str, ...], ...] = ()
    keypoint_threshold: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        n = len(self.xyxy)
        xy, conf = self.keypoints_xy, self.keypoints_confidence
        if xy.ndim != 3 or xy.shape[0] != n or xy.shape[2] != 2:
            raise EdgeError(f"keypoints_xy must have shape (n, K, 2) with n={n}, got {xy.shape}")
        if conf.shape != xy.shape[:2]:
            raise EdgeError(f"keypoints_confidence must have shape {xy.shape[:2]}, got {conf.shape}")
        if len(self.keypoint_names) != len(self.class_names):
            raise EdgeError(
                f"keypoint_names needs one entry per class ({len(self.class_names)}), got {len(self.keypoint_names)}"
            )

    def to_v1(self, inference_id: str | None = None, time: float | None = None) -> dict[str, Any]:
        doc = envelope(self.image, inference_id, time)
        items = self._items()
        # Python lists once, not a numpy scalar per keypoint: 300 people x 17 keypoints is
        # 5,100 objects a frame.
        xy = np.round(self.keypoints_xy).tolist()
        conf = self.keypoints_confidence.tolist()
        keep = (self.keypoints_confidence > 0) & (self.keypoints_confidence >= self.keypoint_threshold)
        for i, item in enumerate(items):
            names = self.keypoint_names[int(self.class_id[i])]
            xi, ci = xy[i], conf[i]
            item["keypoints"] = [
                {"x": xi[j][0], "y": xi[j][1], "confidence": ci[j], "class_id": j, "class": names[j]}
                for j in np.flatnonzero(keep[i]).tolist()
                if j < len(names)
            ]
        doc["predictions"] = items
        return doc

    @classmethod
    def from_v1(
        cls,
        doc: Mapping[str, Any],
        class_names: tuple[str, ...] | None = None,
        keypoint_names: tuple[tuple[str, ...], ...] | None = None,
    ) -> KeypointDetections:
        preds, fields = cls._parse_common(doc, class_names)
        names: tuple[str, ...] = fields["class_names"]
        if keypoint_names is None:
            # Recover names from the response itself; older servers say class_name, not class.
            found: dict[int, dict[int, str]] = {}
            for p in preds:
                for k in p.get("keypoints", []):
                    found.setdefault(int(p["class_id"]), {})[int(k["class_id"])] = str(
                        k.get("class", k.get("class_name"))
                    )
            keypoint_names = tuple(_names_by_index(found.get(c, {})) for c in range(len(names)))
        k = max((len(kn) for kn in keypoint_names), default=0)
        xy = np.zeros((len(preds), k, 2))
        conf = np.zeros((len(preds), k), dtype=np.float32)  # absent keypoints read back as confidence 0
        for i, p in enumerate(preds):
            for kp in p.get("keypoints", []):
                j = int(kp["class_id"])
                xy[i, j] = (kp["x"], kp["y"])
                conf[i, j] = kp["confidence"]
        return cls(**fields, keypoints_xy=xy, keypoints_confidence=conf, keypoint_names=keypoint_names)


def _names_by_index(names: dict[int, str]) -> tuple[str, ...]:
    return tuple(names.get(j, str(j)) for j in range(max(names, default=-1) + 1))


def decode_keypoints(
    pred: npt.NDArray[np.floating],
    geometry: Geometry,
    class_names: tuple[str, ...],
    keypoint_names: tuple[tuple[str, ...], ...],
    kpt_dims: int,
    params: InferenceParams,
) -> KeypointDetections:
    nc = len(class_names)
    c = select(pred, nc, params)
    k = (c.rows.shape[1] - 4 - nc) // kpt_dims
    raw = c.rows[:, 4 + nc :].reshape(len(c.rows), k, kpt_dims)
    xy = geometry.to_source(raw[..., :2])
    conf = raw[..., 2] if kpt_dims == 3 else np.ones(raw.shape[:2], dtype=np.float32)
    return KeypointDetections(
        xyxy=geometry.boxes_to_source(c.xyxy_net),
        confidence=c.confidence,
        class_id=c.class_id,
        class_names=class_names,
        image=ImageSize(geometry.src_w, geometry.src_h),
        keypoints_xy=xy,
        keypoints_confidence=conf.astype(np.float32),
        keypoint_names=keypoint_names,
        keypoint_threshold=params.keypoint_confidence,
    )
