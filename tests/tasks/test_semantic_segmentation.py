from __future__ import annotations

import tracemalloc

import cv2
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
    r = decode_semantic(_logits(), GEOM, NAMES, with_confidence=True)
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
    r = decode_semantic(_logits(), GEOM, NAMES, with_confidence=True)
    doc = r.to_v1(inference_id="i", time=0.0)
    assert_v1_valid(doc, "semantic-segmentation")
    assert doc["class_map"] == {"0": "background", "1": "circle", "2": "square"}
    mask = png_from_b64(doc["segmentation_mask"])
    assert mask.shape == (480, 640) and mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, r.class_map)


@pytest.mark.parametrize("nested", [False, True])
def test_from_v1_reads_both_shapes(nested: bool) -> None:
    r = decode_semantic(_logits(), GEOM, NAMES, with_confidence=True)
    doc = r.to_v1()
    if nested:  # the inference-server shape nests the mask under predictions
        doc["predictions"] = {"segmentation_mask": doc.pop("segmentation_mask"), "class_map": doc.pop("class_map")}
    back = SemanticSegmentation.from_v1(doc)
    assert back.class_names == NAMES
    np.testing.assert_array_equal(back.class_map, r.class_map)


def test_present_class_ids() -> None:
    assert decode_semantic(_logits(), GEOM, NAMES).present_class_ids() == [0, 1, 2]


def _whole_frame_class_map(logits: np.ndarray, g) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """What the decoder did before banding: resize every class to the frame, argmax, softmax."""
    x0, y0, x1, y1 = g.content_window()
    s = logits.shape[1] / g.net_h
    crop = logits[:, round(y0 * s) : round(y1 * s), round(x0 * s) : round(x1 * s)]
    big = cv2.resize(np.ascontiguousarray(crop.transpose(1, 2, 0)), (g.src_w, g.src_h)).transpose(2, 0, 1)
    best = big.argmax(axis=0)
    conf = 1.0 / np.exp(big - big.max(axis=0)).sum(axis=0)
    return best.astype(np.uint8), conf.astype(np.float32)


def _smooth_logits(rng: np.random.Generator, classes: int) -> np.ndarray:
    """Logits with regions, like a real model's: noise blurred so classes form blobs."""
    x = rng.normal(size=(classes, 192, 192)).astype(np.float32)
    return np.stack([cv2.GaussianBlur(c, (0, 0), 6) * 20 for c in x])


@pytest.mark.parametrize("with_confidence", [False, True])
@pytest.mark.parametrize(
    ("frame", "classes", "smooth"),
    [((1920, 1080), 4, True), ((3840, 2160), 4, True), ((1000, 701), 7, False), ((640, 480), 3, False)],
)
def test_class_map_equals_the_whole_frame_resize(
    frame: tuple[int, int], classes: int, smooth: bool, with_confidence: bool
) -> None:
    rng = np.random.default_rng(5)
    g = plan_geometry(frame[0], frame[1], PreprocessConfig(192, 192))
    logits = _smooth_logits(rng, classes) if smooth else rng.normal(size=(classes, 192, 192)).astype(np.float32)
    names = tuple(f"c{i}" for i in range(classes))
    tracemalloc.start()
    try:
        r = decode_semantic(logits, g, names, with_confidence=with_confidence)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ids, conf = _whole_frame_class_map(logits, g)
    # Only pixels whose two best classes tie within float rounding may differ.
    assert (r.class_map != ids).mean() < 1e-5
    if with_confidence:
        assert r.confidence is not None
        np.testing.assert_allclose(r.confidence, conf, atol=1e-4)
    else:
        assert r.confidence is None
    # The output (1 B a pixel, + 4 B with confidence) plus a band of floats: not classes x
    # frame x 4 B of resized logits.
    per_pixel = 5 if with_confidence else 1
    assert peak < per_pixel * frame[0] * frame[1] + 32 * 2**20, f"peak {peak / 2**20:.0f} MB"
