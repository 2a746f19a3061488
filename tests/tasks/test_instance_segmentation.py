from __future__ import annotations

import tracemalloc

import numpy as np

from edge.evaluation import mask_iou
from edge.preprocess import PreprocessConfig, plan_geometry
from edge.tasks.instance_segmentation import InstanceSegmentation, decode_instance_segmentation
from edge.tasks.params import InferenceParams
from tests.helpers import assert_v1_valid

NAMES = ("blob",)
GEOM = plan_geometry(640, 480, PreprocessConfig(320, 320))  # scale 0.5, bars of 40 px top and bottom


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    # One prototype at 1/4 resolution (80x80): positive on network rows 120..200, cols 80..160.
    protos = np.full((1, 80, 80), -8.0, dtype=np.float32)
    protos[0, 30:50, 20:40] = 8.0
    # Box covering network x 60..180, y 100..220: wider than the blob, so the blob shapes the mask.
    pred = np.array([[120, 160, 120, 120, 0.9, 1.0]], dtype=np.float32).T
    return pred, protos


def test_mask_is_the_prototype_region_at_source_size() -> None:
    pred, protos = _inputs()
    r = decode_instance_segmentation(pred, protos, GEOM, NAMES, InferenceParams())
    assert r.masks.shape == (1, 480, 640)
    expected = np.zeros((1, 480, 640), dtype=bool)
    expected[0, 160:320, 160:320] = True  # network rows 120..200 -> source (120-40)/0.5 = 160 .. 320
    assert mask_iou(r.masks, expected)[0, 0] > 0.95


def test_mask_is_cropped_to_its_box() -> None:
    pred, protos = _inputs()
    pred[2:4, 0] = [40, 40]  # a box of network 100..140 x 140..180 cuts the blob
    r = decode_instance_segmentation(pred, protos, GEOM, NAMES, InferenceParams())
    ys, xs = np.nonzero(r.masks[0])
    assert xs.min() >= 200 and xs.max() < 280 and ys.min() >= 200 and ys.max() < 280


def test_v1_polygon_and_round_trip() -> None:
    pred, protos = _inputs()
    r = decode_instance_segmentation(pred, protos, GEOM, NAMES, InferenceParams())
    doc = r.to_v1(inference_id="i", time=0.1)
    assert_v1_valid(doc, "instance-segmentation")
    item = doc["predictions"][0]
    assert item["mask_format"] == "polygon" and len(item["points"]) >= 4
    xs = [p["x"] for p in item["points"]]
    assert min(xs) >= 155 and max(xs) <= 325
    back = InstanceSegmentation.from_v1(doc, NAMES)
    assert mask_iou(back.masks, r.masks)[0, 0] > 0.95


def test_no_detections() -> None:
    pred, protos = _inputs()
    r = decode_instance_segmentation(pred, protos, GEOM, NAMES, InferenceParams(confidence=0.95))
    doc = r.to_v1(inference_id="i", time=0.1)
    assert_v1_valid(doc, "instance-segmentation")
    assert doc["predictions"] == [] and r.masks.shape == (0, 480, 640)


def _crowd(n_x: int, n_y: int, nc: int = 3, m: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A (4 + nc + m, n) output with one confident instance per cell of an n_x x n_y grid over
    the 640x360 content of a 16:9 frame letterboxed to 640, and (m, 160, 160) prototypes."""
    rng = np.random.default_rng(11)
    n = n_x * n_y
    cw, ch = 640 / n_x, 360 / n_y
    gx, gy = np.meshgrid(np.arange(n_x), np.arange(n_y))
    cx, cy = (gx.ravel() + 0.5) * cw, 140 + (gy.ravel() + 0.5) * ch
    pred = np.zeros((4 + nc + m, n), dtype=np.float32)
    pred[0], pred[1] = cx, cy
    pred[2], pred[3] = rng.uniform(0.5, 0.95, n) * cw, rng.uniform(0.5, 0.95, n) * ch
    pred[4 + rng.integers(0, nc, n), np.arange(n)] = 0.9
    pred[4 + nc :] = rng.normal(scale=0.3, size=(m, n))
    protos = rng.normal(size=(m, 160, 160)).astype(np.float32)
    return pred, protos


def test_decoding_300_instances_on_a_4k_frame_stays_box_local() -> None:
    pred, protos = _crowd(20, 15)
    g = plan_geometry(3840, 2160, PreprocessConfig(640, 640))
    decode_instance_segmentation(pred, protos, g, ("a", "b", "c"), InferenceParams(max_detections=300))  # warm-up
    tracemalloc.start()
    try:
        r = decode_instance_segmentation(pred, protos, g, ("a", "b", "c"), InferenceParams(max_detections=300))
        doc = r.to_v1(inference_id="i", time=0.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(r) == 300 and len(doc["predictions"]) == 300
    assert all(len(p["points"]) >= 4 for p in doc["predictions"])
    # Whole-frame masks would be 300 x 3840 x 2160 = 2.5 GB of bool (and 4x that in float).
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MB"
