from __future__ import annotations

import numpy as np
import pytest

from edge.preprocess import PreprocessConfig, plan_geometry
from edge.tasks.semantic_segmentation import SemanticSegmentation, decode_semantic
from edge.tasks.v1 import png_from_b64
from tests.helpers import assert_v1_valid

NAMES = ("background", "circle", "square")
GEOM = plan_geometry(640, 480, PreprocessConfig(320, 320))  # content rows 40..280 of the network


def _logits() -> np.ndarray:
    x = np.zeros((3, 160, 160), dtype=np.float32)  # at half the network resolution
    x[0] = 5.0
    x[1, 20:60, :80] = 10.0  # left half of the content area: circle
    x[2, 60:140, 80:] = 10.0  # bottom right: square
    return x


def test_logits_map_to_source_without_the_padding() -> None:
    r = decode_semantic(_logits(), GEOM, NAMES)
    assert r.class_map.shape == (480, 640)
    assert r.class_map[10, 10] == 1  # network row 40 (first content row) is source row 0
    assert r.class_map[470, 630] == 2
    assert r.class_map[150, 600] == 0
    assert r.confidence is not None and 0.99 < r.confidence[10, 10] <= 1.0


def test_class_map_output() -> None:
    ids = np.zeros((320, 320), dtype=np.int64)
    ids[40:200] = 2
    r = decode_semantic(ids, GEOM, NAMES)
    assert r.class_map[0, 0] == 2 and r.class_map[479, 0] == 0


def test_network_without_background_channel_shifts_ids() -> None:
    logits = _logits()[1:]  # only circle and square channels
    r = decode_semantic(logits, GEOM, NAMES, class_offset=1)
    assert set(np.unique(r.class_map).tolist()) <= {1, 2}


def test_v1_mask_is_a_single_channel_png_of_class_ids() -> None:
    r = decode_semantic(_logits(), GEOM, NAMES)
    doc = r.to_v1(inference_id="i", time=0.0)
    assert_v1_valid(doc, "semantic-segmentation")
    assert doc["class_map"] == {"0": "background", "1": "circle", "2": "square"}
    mask = png_from_b64(doc["segmentation_mask"])
    assert mask.shape == (480, 640) and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, r.class_map)


@pytest.mark.parametrize("nested", [False, True])
def test_from_v1_reads_both_shapes(nested: bool) -> None:
    r = decode_semantic(_logits(), GEOM, NAMES)
    doc = r.to_v1()
    if nested:  # the inference-server shape nests the mask under predictions
        doc["predictions"] = {"segmentation_mask": doc.pop("segmentation_mask"), "class_map": doc.pop("class_map")}
    back = SemanticSegmentation.from_v1(doc)
    assert back.class_names == NAMES
    np.testing.assert_array_equal(back.class_map, r.class_map)


def test_present_class_ids() -> None:
    assert decode_semantic(_logits(), GEOM, NAMES).present_class_ids() == [0, 1, 2]
