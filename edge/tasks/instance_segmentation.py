"""Instance segmentation: detections plus one mask each, sent as the mask's polygon."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.preprocess import Geometry
from edge.tasks.detection import Detections, select
from edge.tasks.masks import mask_to_polygon, masks_from_protos, polygon_to_mask
from edge.tasks.params import InferenceParams
from edge.tasks.v1 import ImageSize, envelope


@dataclass(frozen=True, kw_only=True)
class InstanceSegmentation(Detections):
    """Detections with ``masks`` (n, H, W) bool at the original image size."""

    masks: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 1, 1), dtype=bool))

    def __post_init__(self) -> None:
        super().__post_init__()
        n = len(self.xyxy)
        want = (n, self.image.height, self.image.width)
        if self.masks.shape != want or self.masks.dtype != bool:
            raise EdgeError(f"masks must be bool with shape {want}, got {self.masks.dtype} {self.masks.shape}")

    def polygons(self) -> list[npt.NDArray[np.float64]]:
        return [mask_to_polygon(m) for m in self.masks]

    def to_v1(self, inference_id: str | None = None, time: float | None = None) -> dict[str, Any]:
        doc = envelope(self.image, inference_id, time)
        items = self._items()
        for item, poly in zip(items, self.polygons()):
            item["points"] = [{"x": float(x), "y": float(y)} for x, y in poly.tolist()]
            item["mask_format"] = "polygon"
        doc["predictions"] = items
        return doc

    @classmethod
    def from_v1(cls, doc: Mapping[str, Any], class_names: tuple[str, ...] | None = None) -> InstanceSegmentation:
        preds, fields = cls._parse_common(doc, class_names)
        size: ImageSize = fields["image"]
        masks = np.zeros((len(preds), size.height, size.width), dtype=bool)
        for i, p in enumerate(preds):
            pts = np.array([[q["x"], q["y"]] for q in p.get("points", [])], dtype=np.float64).reshape(-1, 2)
            masks[i] = polygon_to_mask(pts, size.width, size.height)
        return cls(**fields, masks=masks)


def decode_instance_segmentation(
    pred: npt.NDArray[np.floating],
    protos: npt.NDArray[np.floating],
    geometry: Geometry,
    class_names: tuple[str, ...],
    params: InferenceParams,
) -> InstanceSegmentation:
    nc = len(class_names)
    m = protos.shape[0]
    c = select(pred, nc, params)
    xyxy = geometry.boxes_to_source(c.xyxy_net)
    masks = masks_from_protos(c.rows[:, 4 + nc : 4 + nc + m], protos, geometry, xyxy)
    return InstanceSegmentation(
        xyxy=xyxy,
        confidence=c.confidence,
        class_id=c.class_id,
        class_names=class_names,
        image=ImageSize(geometry.src_w, geometry.src_h),
        masks=masks,
    )
