"""The accurate path's cost cuts keep its answers: one outline trace per instance, and the
thresholded resize written into reused work areas gives the dense resize's bits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import edge.tasks.mask_crops as mask_crops
from edge.preprocess import PreprocessConfig, plan_geometry
from edge.tasks import native
from edge.tasks.instance_segmentation import decode_instance_segmentation
from edge.tasks.params import InferenceParams
from edge.tasks.resample import Scratch, interpolate, interpolate_above, linear_taps

GEOM = plan_geometry(640, 480, PreprocessConfig(320, 320))


def _crowd(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    protos = rng.normal(size=(4, 80, 80)).astype(np.float32)
    xy = rng.uniform(60, 260, (n, 2))
    boxes = np.c_[xy, rng.uniform(30, 90, (n, 2))]  # cx, cy, w, h in network pixels
    pred = np.c_[boxes, rng.uniform(0.5, 0.9, (n, 1)), rng.normal(size=(n, 4))].astype(np.float32).T
    return pred, protos


def test_to_v1_after_polygons_traces_each_outline_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pred, protos = _crowd(6)
    r = decode_instance_segmentation(pred, protos, GEOM, ("a",), InferenceParams(confidence=0.1, overlap=0.9))
    calls: list[int] = []  # one entry per mask traced, by OpenCV or by the compiled kernel
    trace, trace_all = mask_crops.mask_to_polygon, native.longest_contours

    def counted(*args: object, **kw: object) -> np.ndarray:
        calls.append(1)
        return trace(*args, **kw)  # type: ignore[arg-type]

    def counted_all(crops: tuple[np.ndarray, ...], *args: Any, **kw: Any) -> list[np.ndarray]:
        calls.extend(1 for _ in crops)
        return trace_all(crops, *args, **kw)

    monkeypatch.setattr(mask_crops, "mask_to_polygon", counted)
    monkeypatch.setattr(native, "longest_contours", counted_all)
    first = r.polygons()
    first.clear()  # the caller's list, not the cache
    doc = r.to_v1(inference_id="x", time=0.0)
    assert len(calls) == len(r.confidence) > 0
    outlines = r.polygons()
    assert [len(p["points"]) for p in doc["predictions"]] == [len(p) for p in outlines]
    for pred_doc, poly in zip(doc["predictions"], outlines):
        assert [(q["x"], q["y"]) for q in pred_doc["points"]] == [tuple(v) for v in poly.tolist()]


@pytest.mark.parametrize("threshold", [0.0, 0.5])
@pytest.mark.parametrize(("src", "dst"), [((20, 30), (160, 240)), ((31, 17), (250, 91)), ((40, 40), (23, 37))])
def test_interpolate_above_has_the_dense_bits(threshold: float, src: tuple[int, int], dst: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(src) + sum(dst))
    values = rng.normal(size=src).astype(np.float32)
    values[rng.random(src) < 0.2] = np.float32(threshold)  # exact ties at the threshold
    values[0, 0], values[-1, -1] = np.float32(1e-40), np.float32(-0.0)
    if threshold:
        values = 1 / (1 + np.exp(-values))
    rows, cols = linear_taps(src[0], dst[0]), linear_taps(src[1], dst[1])
    scratch = Scratch()
    for y0, y1, x0, x1 in [(0, dst[0], 0, dst[1]), (dst[0] // 3, dst[0] - 2, 1, dst[1] // 2), (0, 1, 0, dst[1])]:
        r, c = rows.window(y0, y1), cols.window(x0, x1)
        got = interpolate_above(values, r, c, threshold, scratch)
        np.testing.assert_array_equal(got, interpolate(values, r, c) > threshold)
