"""Instance segmentation: detections plus one box-local mask each, sent as the mask's polygon."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.models.spec import MaskStyle
from edge.preprocess import Geometry
from edge.tasks.detection import Detections, select
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.mask_modes import GridMasks, decode_masks
from edge.tasks.params import InferenceParams, MaskFormat
from edge.tasks.points import frame_points
from edge.tasks.rle import add_rle, crop_strings, crops_from_v1
from edge.tasks.v1 import ImageSize, envelope


@dataclass(frozen=True, kw_only=True)
class InstanceSegmentation(Detections):
    """Detections with ``mask_crops``: one mask per detection, each held over its window of
    the frame only. :meth:`full_masks` (or ``masks``) builds the (n, H, W) stack on demand."""

    mask_crops: MaskCrops = field(default_factory=lambda: MaskCrops.empty(1, 1))
    # fast / tradeoff decoding: the masks on their coarser grid, where the outlines are traced.
    grid: GridMasks | None = field(default=None, compare=False)
    mask_format: MaskFormat = "polygon"  # what to_v1 sends: points, or a COCO rle

    def __post_init__(self) -> None:
        super().__post_init__()
        n, mc = len(self.xyxy), self.mask_crops
        if len(mc) != n or (mc.width, mc.height) != (self.image.width, self.image.height):
            raise EdgeError(
                f"mask_crops must hold {n} masks on a {self.image.width}x{self.image.height} frame, "
                f"got {len(mc)} on {mc.width}x{mc.height}"
            )

    def full_masks(self) -> npt.NDArray[np.bool_]:
        """(n, H, W) bool masks at the frame size; allocates n x frame area."""
        return self.mask_crops.full()

    @property
    def masks(self) -> npt.NDArray[np.bool_]:
        """Same as :meth:`full_masks`, for callers written against full-frame masks."""
        return self.mask_crops.full()

    def polygons(self) -> list[npt.NDArray[np.float64]]:
        """One (k, 2) outline per mask, traced once per result: ``to_v1`` and callers that
        also want the outlines (the bench, annotation) share the trace."""
        cached: list[npt.NDArray[np.float64]] | None = self.__dict__.get("_polygons")
        if cached is None:
            cached = self.grid.polygons() if self.grid is not None else self.mask_crops.polygons()
            self.__dict__["_polygons"] = cached  # frozen dataclass: a cache, not a field
        return list(cached)

    def to_v1(self, inference_id: str | None = None, time: float | None = None) -> dict[str, Any]:
        doc = envelope(self.image, inference_id, time)
        items = self._items()
        if self.mask_format == "rle":
            texts = self.grid.rle_strings() if self.grid is not None else crop_strings(self.mask_crops)
            add_rle(items, texts, self.image.width, self.image.height)
        else:
            for item, points in zip(items, frame_points(self.polygons())):
                item["points"] = points  # JSON from the array; dicts only if read
                item["mask_format"] = "polygon"
        doc["predictions"] = items
        return doc

    @classmethod
    def from_v1(cls, doc: Mapping[str, Any], class_names: tuple[str, ...] | None = None) -> InstanceSegmentation:
        preds, fields = cls._parse_common(doc, class_names)
        size: ImageSize = fields["image"]
        if any("rle" in p for p in preds):
            return cls(**fields, mask_crops=crops_from_v1(preds, size.width, size.height), mask_format="rle")
        polys = [
            np.array([[q["x"], q["y"]] for q in p.get("points", [])], dtype=np.float64).reshape(-1, 2) for p in preds
        ]
        return cls(**fields, mask_crops=MaskCrops.from_polygons(polys, size.width, size.height))


def decode_instance_segmentation(
    pred: npt.NDArray[np.floating],
    protos: npt.NDArray[np.floating],
    geometry: Geometry,
    class_names: tuple[str, ...],
    params: InferenceParams,
    mask_style: MaskStyle = MaskStyle.ULTRALYTICS,
) -> InstanceSegmentation:
    nc = len(class_names)
    m = protos.shape[0]
    c = select(pred, nc, params)
    xyxy = geometry.boxes_to_source(c.xyxy_net)
    coeffs = c.rows[:, 4 + nc : 4 + nc + m]
    crops, grid = decode_masks(coeffs, protos, geometry, xyxy, c.xyxy_net, params, mask_style)
    return InstanceSegmentation(
        xyxy=xyxy,
        confidence=c.confidence,
        class_id=c.class_id,
        class_names=class_names,
        image=ImageSize(geometry.src_w, geometry.src_h),
        mask_crops=crops,
        grid=grid,
        mask_format=params.response_mask_format,
    )
