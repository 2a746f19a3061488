"""COCO RLE encode/decode against strings pycocotools wrote (tools/make_rle_vectors.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from edge.errors import EdgeError
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.rle import (
    Rle,
    counts_from_string,
    counts_to_string,
    counts_to_strings,
    crop_counts,
    crop_strings,
    crops_from_v1,
    decode_crop,
    encode_crop,
    rescale_v1,
)
from tests.tasks.kernels import kernel  # noqa: F401  (autouse: each test on both paths)

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "rle" / "pycocotools_vectors.json").read_text()
)


def _crop(case: dict[str, Any]) -> npt.NDArray[np.bool_]:
    h, w = case["shape"]
    bits = np.unpackbits(np.frombuffer(bytes.fromhex(case["bits"]), dtype=np.uint8))[: h * w]
    return bits.reshape(h, w).astype(bool)


def _full(case: dict[str, Any]) -> npt.NDArray[np.bool_]:
    H, W = case["size"]
    full = np.zeros((H, W), dtype=bool)
    crop = _crop(case)
    full[case["y0"] : case["y0"] + crop.shape[0], case["x0"] : case["x0"] + crop.shape[1]] = crop
    return full


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_a_crop_encodes_to_pycocotools_string(case: dict[str, Any]) -> None:
    H, W = case["size"]
    rle = encode_crop(_crop(case), case["x0"], case["y0"], W, H)
    assert rle.to_v1() == {"size": [H, W], "counts": case["counts"]}
    assert int(rle.counts[1::2].sum()) == case["area"]


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_a_frames_crops_encode_to_pycocotools_strings(case: dict[str, Any]) -> None:
    """What a v1 document carries: crop_strings, the compiled kernel's where it is built."""
    H, W = case["size"]
    crop = _crop(case)
    x0, y0 = case["x0"], case["y0"]
    window = np.array([[x0, y0, x0 + crop.shape[1], y0 + crop.shape[0]]], dtype=np.int64)
    assert crop_strings(MaskCrops(window, (crop,), W, H)) == [case["counts"]]


@pytest.mark.parametrize("case", VECTORS, ids=[c["name"] for c in VECTORS])
def test_pycocotools_string_decodes_to_the_same_mask(case: dict[str, Any]) -> None:
    H, W = case["size"]
    rle = Rle.from_v1({"size": [H, W], "counts": case["counts"]})
    (x0, y0, x1, y1), crop = decode_crop(rle)
    full = np.zeros((H, W), dtype=bool)
    full[y0:y1, x0:x1] = crop
    np.testing.assert_array_equal(full, _full(case))
    if crop.size:  # the window is the set pixels' bounding box, not the frame
        assert crop[0].any() and crop[-1].any() and crop[:, 0].any() and crop[:, -1].any()


def test_counts_survive_the_string_both_ways_with_big_and_shrinking_runs() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 2**40, size=500).astype(np.int64)
    counts[::7] = rng.integers(0, 3, size=len(counts[::7]))  # deltas that go strongly negative
    np.testing.assert_array_equal(counts_from_string(counts_to_string(counts).encode()), counts)


def test_an_uncompressed_rle_is_read_too() -> None:
    rle = Rle.from_v1({"size": [2, 2], "counts": [1, 2, 1]})
    _, crop = decode_crop(rle)
    assert crop.tolist() == [[False, True], [True, False]]


@pytest.mark.parametrize(
    ("rle", "words"),
    [
        ({"size": [2, 2]}, 'must be {"size": [H, W], "counts": "..."}'),
        ({"size": [2], "counts": "4"}, "size must be [H, W]"),
        ({"size": [2, 2], "counts": [1, 1]}, "must add up to its 2x2 frame"),
        ({"size": [2, 2], "counts": "4 "}, "outside COCO's alphabet"),
        ({"size": [2, 2], "counts": "P"}, "ends in the middle of a number"),
        ({"size": [2, 2], "counts": 4}, "must be a string or a list"),
    ],
)
def test_a_bad_rle_is_a_one_line_error(rle: dict[str, Any], words: str) -> None:
    with pytest.raises(EdgeError) as info:
        Rle.from_v1(rle)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_v1_items_with_rle_or_points_become_crops() -> None:
    masks = MaskCrops.from_polygons([np.array([[10, 10], [30, 12], [20, 40]])], 64, 48)
    rle = encode_crop(masks.crops[0], *masks.windows[0, :2].tolist(), 64, 48).to_v1()
    items = [{"rle": rle}, {"points": [{"x": 10, "y": 10}, {"x": 30, "y": 12}, {"x": 20, "y": 40}]}]
    parsed = crops_from_v1(items, 64, 48)
    np.testing.assert_array_equal(parsed.full()[0], masks.full()[0])
    np.testing.assert_array_equal(parsed.full()[1], masks.full()[0])
    with pytest.raises(EdgeError, match="is not the image's"):
        crops_from_v1([{"rle": rle}], 48, 64)


def test_many_strings_at_once_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(5)
    many = [rng.integers(0, 5000, size=n).astype(np.int64) for n in (1, 2, 3, 4, 50, 7, 1)]
    assert counts_to_strings(many) == [counts_to_string(c) for c in many]
    assert [counts_from_string(s.encode()).tolist() for s in counts_to_strings(many)] == [c.tolist() for c in many]


def test_a_frames_masks_encoded_together_equal_each_alone() -> None:
    polys = [np.array([[10, 10], [30, 12], [20, 40]]), np.zeros((0, 2)), np.array([[0, 0], [63, 0], [63, 47], [0, 47]])]
    masks = MaskCrops.from_polygons(polys, 64, 48)
    alone = [encode_crop(c, x0, y0, 64, 48).counts for (x0, y0, _, _), c in zip(masks.windows.tolist(), masks.crops)]
    together = crop_counts(masks)
    assert [c.tolist() for c in together] == [c.tolist() for c in alone]
    assert together[1].tolist() == [64 * 48] and together[2].tolist() == [0, 64 * 48]


@pytest.mark.parametrize(
    ("src", "dst"),
    [((320, 240), (1280, 720)), ((640, 480), (997, 611)), ((997, 611), (320, 240)), ((7, 5), (7, 5))],
)
def test_rescale_v1_is_the_nearest_pixel_mask_at_the_new_size(src: tuple[int, int], dst: tuple[int, int]) -> None:
    rng = np.random.default_rng(src[0] + dst[0])
    (w, h), (W, H) = src, dst
    mask = np.zeros((h, w), dtype=bool)
    mask[h // 5 : h - h // 4, w // 3 : w - 1] = rng.random((h - h // 4 - h // 5, w - 1 - w // 3)) < 0.7
    doc = rescale_v1(encode_crop(mask, 0, 0, w, h).to_v1(), W, H)
    # Each frame pixel takes the source pixel its centre falls in.
    rows = np.minimum(((np.arange(H) + 0.5) * (h / H)).astype(int), h - 1)
    cols = np.minimum(((np.arange(W) + 0.5) * (w / W)).astype(int), w - 1)
    want = encode_crop(mask[rows][:, cols], 0, 0, W, H).to_v1()
    assert doc == want


@pytest.mark.parametrize("fill", [False, True])
def test_rescale_v1_of_an_empty_or_full_mask(fill: bool) -> None:
    mask = np.full((5, 7), fill)
    doc = rescale_v1(encode_crop(mask, 0, 0, 7, 5).to_v1(), 14, 10)
    assert doc == encode_crop(np.full((10, 14), fill), 0, 0, 14, 10).to_v1()
