"""Masks sent as RLE are drawn as polygon masks are (annotated snapshots, the v1 route's
format=image, the device page's pictures)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from edge.demo.annotate import annotate
from edge.model import Model
from edge.tasks.instance_segmentation import InstanceSegmentation
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS

EXAMPLE = cv2.imread(str(FIXTURE_MODELS.parents[2] / "examples" / "images" / "shapes.jpg"))


def test_an_rle_document_draws_the_same_masks_as_its_polygon_one() -> None:
    with Model.open(FIXTURE_MODELS / "shapes-segment.onnx") as model:
        result = model.predict([EXAMPLE], InferenceParams(response_mask_format="rle"))[0].result
    assert isinstance(result, InstanceSegmentation) and len(result) >= 3
    rle_doc = result.to_v1()
    polygon_doc = dataclasses.replace(result, mask_format="polygon").to_v1()
    drawn = [annotate(EXAMPLE, d, labels=False, boxes=False).astype(int) for d in (rle_doc, polygon_doc)]
    changed = [(np.abs(d - EXAMPLE).sum(axis=2) > 30) for d in drawn]
    assert changed[1].sum() > 1000  # the masks are drawn
    # Both trace the same mask's outline: the same pixels change, up to its anti-aliased edge.
    assert (changed[0] != changed[1]).sum() <= 0.02 * changed[1].sum()
