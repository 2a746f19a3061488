from __future__ import annotations

import numpy as np

from edge.demo.annotate import PALETTE, annotate
from edge.tasks.v1 import png_b64

BLANK = np.full((120, 160, 3), 127, np.uint8)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


def test_boxes_polygons_and_keypoints_are_drawn_where_they_are() -> None:
    doc = {
        "image": {"width": 160, "height": 120},
        "predictions": [
            {
                "x": 40.0, "y": 40.0, "width": 40.0, "height": 30.0, "confidence": 0.9, "class": "square",
                "class_id": 1, "detection_id": "a",
                "points": [{"x": 25.0, "y": 30.0}, {"x": 55.0, "y": 30.0}, {"x": 55.0, "y": 50.0}],
                "keypoints": [{"x": 120.0, "y": 100.0, "confidence": 0.8, "class_id": 0, "class": "tip"}],
            }
        ],
    }  # fmt: skip
    out = annotate(BLANK, doc)
    diff = changed(out, BLANK)
    assert diff[25, 20:61].any()  # the box's top edge (and its label)
    assert diff[40, 50]  # inside the filled polygon
    assert diff[100, 120]  # the keypoint
    assert not diff[110, 10]  # nothing drawn far away
    assert np.array_equal(BLANK, np.full((120, 160, 3), 127, np.uint8))  # the input is left alone


def test_class_map_colours_foreground_only() -> None:
    mask = np.zeros((120, 160), np.uint8)
    mask[10:50, 100:150] = 2
    doc = {"image": {"width": 160, "height": 120}, "segmentation_mask": png_b64(mask), "class_map": {"2": "triangle"}}
    out = annotate(BLANK, doc)
    inside = out[30, 125].astype(int)
    expected = (0.7 * np.array(PALETTE[2]) + 0.3 * 127).astype(int)
    assert np.abs(inside - expected).max() <= 1
    assert np.array_equal(out[70, 50], BLANK[70, 50])  # background untouched


def test_classifications_are_labelled() -> None:
    image = {"width": 160, "height": 120}
    top = [{"class": "circle", "class_id": 0, "confidence": 0.9}]
    single = {"image": image, "predictions": top, "top": "circle", "confidence": 0.9}
    multi = {"image": image, "predictions": {"circle": {"confidence": 0.9, "class_id": 0}}, "predicted_classes": []}
    for doc in (single, multi):
        assert changed(annotate(BLANK, doc, "t"), BLANK)[30:60, 6:60].any()


def test_boxes_off_leaves_the_box_out() -> None:
    image = np.zeros((60, 80, 3), np.uint8)
    doc = {
        "image": {"width": 80, "height": 60},
        "predictions": [{"x": 40, "y": 30, "width": 40, "height": 20, "class": "a", "class_id": 0, "confidence": 0.9}],
    }
    drawn = annotate(image, doc, labels=False)
    assert drawn[20, 40].any()  # the box's top edge
    bare = annotate(image, doc, labels=False, boxes=False)
    assert not bare.any()
