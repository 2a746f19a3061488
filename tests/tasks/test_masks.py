"""Box-local masks against whole-frame constructions of the same masks."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pytest

from edge.models.loader import load_spec
from edge.models.spec import MaskStyle
from edge.preprocess import Geometry, PreprocessConfig, ResizeMode, plan_geometry, preprocess
from edge.tasks.detection import select
from edge.tasks.mask_crops import MaskCrops, mask_to_polygon
from edge.tasks.masks import mask_crops_from_protos
from edge.tasks.params import InferenceParams
from tests.helpers import GOLDEN
from tests.tasks.kernels import kernel  # noqa: F401  (autouse: each test on both paths)
from tests.tasks.whole_frame_masks import whole_frame_masks


def _content(g: Geometry, ph: int, pw: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = g.content_window()
    sx, sy = pw / g.net_w, ph / g.net_h
    cx0, cy0 = int(round(x0 * sx)), int(round(y0 * sy))
    return cx0, cy0, max(int(round(x1 * sx)), cx0 + 1), max(int(round(y1 * sy)), cy0 + 1)


def _reference(coeffs: npt.NDArray[np.float32], protos: npt.NDArray[np.float32], g, xyxy) -> npt.NDArray[np.bool_]:
    """The Ultralytics-style definition, spelled out: full-image logits, thresholded, times a box indicator."""
    m, ph, pw = protos.shape
    maps = (coeffs @ protos.reshape(m, -1)).reshape(-1, ph, pw)
    cx0, cy0, cx1, cy1 = _content(g, ph, pw)
    out = []
    rows, cols = np.mgrid[0 : g.src_h, 0 : g.src_w]
    for mp, (bx0, by0, bx1, by1) in zip(maps[:, cy0:cy1, cx0:cx1], xyxy):
        big = cv2.resize(np.ascontiguousarray(mp), (g.src_w, g.src_h), interpolation=cv2.INTER_LINEAR)
        inside = (cols >= bx0) & (cols < bx1) & (rows >= by0) & (rows < by1)
        out.append((big > 0) & inside)
    return np.array(out, dtype=bool).reshape(len(xyxy), g.src_h, g.src_w)


def _roboflow_reference(coeffs, protos, g, xyxy_net) -> npt.NDArray[np.bool_]:  # type: ignore[no-untyped-def]
    """inference_models' construction, spelled out on the whole frame: sigmoid, zero outside
    the box rounded to prototype cells, drop the padding, resize, > 0.5."""
    m, ph, pw = protos.shape
    probs = 1 / (1 + np.exp(-(coeffs @ protos.reshape(m, -1)).reshape(-1, ph, pw)))
    cells = np.round(np.float32(xyxy_net) * np.float32([pw / g.net_w, ph / g.net_h] * 2))
    r, c = np.mgrid[0:ph, 0:pw]
    cx0, cy0, cx1, cy1 = _content(g, ph, pw)
    out = []
    for p, (a, b, e, f) in zip(probs, cells):
        cut = (p * ((c >= a) & (c < e) & (r >= b) & (r < f))).astype(np.float32)[cy0:cy1, cx0:cx1]
        cut = np.stack([cut, cut], axis=-1)  # two channels: OpenCV's own resize, as the taps follow
        out.append(cv2.resize(cut, (g.src_w, g.src_h), interpolation=cv2.INTER_LINEAR)[..., 0] > 0.5)
    return np.array(out, dtype=bool).reshape(len(xyxy_net), g.src_h, g.src_w)


def _random_case(src: tuple[int, int], mode: ResizeMode, boxes, net: int = 64, proto: int = 16):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    g = plan_geometry(src[0], src[1], PreprocessConfig(net, net, mode))
    coeffs = rng.normal(size=(len(boxes), 8)).astype(np.float32)
    protos = rng.normal(size=(8, proto, proto)).astype(np.float32)
    xyxy = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    xyxy_net = xyxy * np.array([g.scale_x, g.scale_y] * 2) + np.array([g.offset_x, g.offset_y] * 2)
    return g, coeffs, protos, xyxy, xyxy_net


CASES = [
    ((120, 90), ResizeMode.LETTERBOX, [[10.2, 5.7, 60.0, 44.5], [0.0, 0.0, 120.0, 90.0]]),
    ((90, 120), ResizeMode.LETTERBOX, [[-15.0, -3.0, 30.0, 200.0]]),  # reaches past the image
    ((64, 64), ResizeMode.STRETCH, [[10.0, 10.0, 10.0, 20.0], [5.5, 5.5, 6.5, 6.5]]),  # empty, one pixel
    ((100, 80), ResizeMode.LETTERBOX, []),
    ((333, 251), ResizeMode.LETTERBOX, [[3.0, 7.0, 300.0, 250.0], [100.5, 20.25, 180.0, 90.0]]),  # odd scales
]


@pytest.mark.parametrize(("src", "mode", "boxes"), CASES)
def test_ultralytics_crops_equal_the_full_image_definition(src: tuple[int, int], mode: ResizeMode, boxes) -> None:
    g, coeffs, protos, xyxy, xyxy_net = _random_case(src, mode, boxes)
    crops = mask_crops_from_protos(coeffs, protos, g, xyxy, xyxy_net)
    got = crops.full()
    assert got.shape == (len(boxes), src[1], src[0])
    np.testing.assert_array_equal(got, _reference(coeffs, protos, g, xyxy))
    np.testing.assert_array_equal(got, whole_frame_masks(coeffs, protos, g, xyxy))
    # Each crop is the box's window, so nothing is held outside the box.
    for (x0, y0, x1, y1), crop in zip(crops.windows.tolist(), crops.crops):
        assert crop.shape == (y1 - y0, x1 - x0)


@pytest.mark.parametrize(("src", "mode", "boxes"), CASES)
def test_roboflow_crops_equal_the_full_image_definition(src: tuple[int, int], mode: ResizeMode, boxes) -> None:
    g, coeffs, protos, xyxy, xyxy_net = _random_case(src, mode, boxes)
    got = mask_crops_from_protos(coeffs, protos, g, xyxy, xyxy_net, MaskStyle.ROBOFLOW).full()
    ref = _roboflow_reference(coeffs, protos, g, xyxy_net)
    assert got.shape == ref.shape
    assert (got != ref).sum() <= 2, "only values within an ulp of 0.5 may differ"


def _assert_same_masks(got: npt.NDArray[np.bool_], ref: npt.NDArray[np.bool_]) -> None:
    assert got.shape == ref.shape
    inter = (got & ref).sum(axis=(1, 2))
    union = (got | ref).sum(axis=(1, 2))
    ious = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    assert (ious >= 0.99).all(), ious
    # Pixel-identical up to logits within an ulp of 0: the whole-frame code's one-channel
    # resizes go through OpenCV's IPP path, whose float rounding differs in the last bit.
    assert (got != ref).sum() <= max(2, ref.sum() // 100_000)


def _fixture_outputs(model_path, image):  # type: ignore[no-untyped-def]
    spec = load_spec(model_path)
    x, geoms = preprocess([image], spec.preprocess)
    sess = ort.InferenceSession(str(spec.onnx_path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    pred = next(o for o in outs if o.ndim == 3)[0]
    protos = next(o for o in outs if o.ndim == 4)[0]
    return pred, protos, geoms[0], spec


@pytest.mark.parametrize("image", sorted(p.name for p in (GOLDEN / "images").glob("*.png")))
def test_crops_equal_whole_frame_masks_on_the_fixture_model(fixture_models: dict, image: str) -> None:
    img = cv2.imread(str(GOLDEN / "images" / image))
    pred, protos, g, spec = _fixture_outputs(fixture_models["segment"], img)
    for frame, geom in [(img, g), *_rescaled(img, spec)]:
        if frame is not img:
            pred, protos, geom, _ = _fixture_outputs(fixture_models["segment"], frame)
        c = select(pred, spec.num_classes, InferenceParams(confidence=0.25))
        xyxy = geom.boxes_to_source(c.xyxy_net)
        coeffs = c.rows[:, 4 + spec.num_classes :]
        crops = mask_crops_from_protos(coeffs, protos, geom, xyxy, c.xyxy_net)
        _assert_same_masks(crops.full(), whole_frame_masks(coeffs, protos, geom, xyxy))


def _rescaled(img, spec):  # type: ignore[no-untyped-def]
    """The same picture at 1280x720 (8x the prototypes) and an odd size, to vary the scale."""
    return [(cv2.resize(img, size), None) for size in [(1280, 720), (997, 611)]]


@pytest.mark.parametrize(("frame", "n"), [((1280, 720), 64), ((1920, 1080), 80), ((1000, 700), 61)])
def test_crowded_frame_crops_equal_whole_frame_masks(frame: tuple[int, int], n: int) -> None:
    rng = np.random.default_rng(7)
    g = plan_geometry(frame[0], frame[1], PreprocessConfig(640, 640))
    protos = rng.normal(size=(32, 160, 160)).astype(np.float32)
    coeffs = rng.normal(scale=0.3, size=(n, 32)).astype(np.float32)
    wh = rng.uniform(15, 160, size=(n, 2))
    ctr = rng.uniform([0, 0], frame, size=(n, 2))
    xyxy = np.clip(np.concatenate([ctr - wh / 2, ctr + wh / 2], axis=1), 0, [*frame, *frame])
    xyxy_net = xyxy * np.array([g.scale_x, g.scale_y] * 2) + np.array([g.offset_x, g.offset_y] * 2)
    crops = mask_crops_from_protos(coeffs, protos, g, xyxy, xyxy_net)
    _assert_same_masks(crops.full(), whole_frame_masks(coeffs, protos, g, xyxy))
    # Polygons traced in the crops are the ones traced in full-frame masks.
    full = crops.full()
    for poly, mask in zip(crops.polygons(), full):
        np.testing.assert_array_equal(poly, mask_to_polygon(mask))


def test_polygons_rasterise_in_their_boxes_as_on_the_frame() -> None:
    polys = [
        np.array([[10.2, 10.0], [60.0, 15.4], [30.0, 70.0]]),
        np.array([[-20.0, 5.0], [50.0, -8.0], [90.0, 130.0], [5.0, 40.0]]),  # past the frame's edges
        np.array([[3.0, 3.0], [4.0, 4.0]]),  # not a polygon
        np.zeros((0, 2)),
    ]
    crops = MaskCrops.from_polygons(polys, 80, 100)
    for poly, mask in zip(polys, crops.full()):
        want = np.zeros((100, 80), dtype=np.uint8)
        if len(poly) >= 3:
            cv2.fillPoly(want, [np.round(poly).astype(np.int32)], 1)
        np.testing.assert_array_equal(mask, want.astype(bool))
    assert crops.windows[0].tolist() == [10, 10, 61, 71]


@pytest.mark.parametrize("frame", [(1280, 720), (1920, 1080), (640, 480), (1000, 700)])
@pytest.mark.parametrize("style", [MaskStyle.ULTRALYTICS, MaskStyle.ROBOFLOW])
def test_the_cv2_window_path_gives_the_numpy_taps_bits(frame: tuple[int, int], style: MaskStyle) -> None:
    """Frames whose scale aligns go through edge.tasks.window_resize: the same masks, bit for bit."""
    from edge.tasks import masks as m
    from edge.tasks.resample import linear_taps

    rng = np.random.default_rng(9)
    g = plan_geometry(frame[0], frame[1], PreprocessConfig(640, 640))
    protos = rng.normal(size=(32, 160, 160)).astype(np.float32)
    coeffs = rng.normal(scale=0.3, size=(40, 32)).astype(np.float32)
    wh = rng.uniform(15, 400, size=(40, 2))
    ctr = rng.uniform([0, 0], frame, size=(40, 2))
    xyxy = np.clip(np.concatenate([ctr - wh / 2, ctr + wh / 2], axis=1), 0, [*frame, *frame])
    xyxy_net = xyxy * np.array([g.scale_x, g.scale_y] * 2) + np.array([g.offset_x, g.offset_y] * 2)
    got = mask_crops_from_protos(coeffs, protos, g, xyxy, xyxy_net, style)
    cx0, cy0, cx1, cy1 = m.content_cells(g, 160, 160, style)
    content = protos[:, cy0:cy1, cx0:cx1]
    rows, cols = linear_taps(cy1 - cy0, g.src_h), linear_taps(cx1 - cx0, g.src_w)
    if style is MaskStyle.ROBOFLOW:
        cells = m._proto_boxes(xyxy_net, g, 160, 160, (cx0, cy0, cx1, cy1))
        want = m._roboflow_crops(coeffs, content, cells, rows, cols, g.src_w, g.src_h)
    else:
        want = m._ultralytics_crops(coeffs, content, xyxy, rows, cols, g.src_w, g.src_h)
    np.testing.assert_array_equal(got.windows, want.windows)
    for a, b in zip(got.crops, want.crops):
        np.testing.assert_array_equal(a, b)
