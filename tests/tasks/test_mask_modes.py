"""The fast and tradeoff mask decode modes and RLE masks on the fixture segmentation model,
both as an Ultralytics export and as its Roboflow package (the two mask styles).

Measured on these frames (3 golden images, each also rescaled to 1280x720 and 997x611; 31
instances a style), IoU against the accurate mask of the same instance, lowest / median; of
each polygon's fill against the mode's own mask (what its RLE carries); and of the polygon's
fill against accurate's polygon's fill (what a subscriber of polygons sees in each mode):

| mode | style | mask (RLE) vs accurate | fill vs accurate | fill vs own mask | fill vs accurate's fill | vertices |
| --- | --- | --- | --- | --- | --- | --- |
| accurate | ultralytics | 1.000 / 1.000 | 0.953 / 1.000 | 0.953 / 1.000 | 1.000 / 1.000 | 6055 |
| fast | ultralytics | 0.995 / 1.000 | 0.917 / 0.988 | 0.917 / 0.987 | 0.917 / 0.988 | 977 |
| tradeoff 0.5 | ultralytics | 0.990 / 0.999 | 0.943 / 0.993 | 0.943 / 0.994 | 0.969 / 0.994 | 2005 |
| tradeoff 1 | ultralytics | 0.998 / 1.000 | 0.953 / 0.996 | 0.953 / 0.996 | 0.977 / 0.996 | 2660 |
| accurate | roboflow | 1.000 / 1.000 | 0.951 / 1.000 | 0.951 / 1.000 | 1.000 / 1.000 | 4467 |
| fast | roboflow | 0.896 / 0.983 | 0.865 / 0.972 | 0.930 / 0.982 | 0.865 / 0.975 | 957 |
| tradeoff 0.5 | roboflow | 0.892 / 0.983 | 0.881 / 0.977 | 0.938 / 0.992 | 0.881 / 0.979 | 1838 |
| tradeoff 1 | roboflow | 0.895 / 0.983 | 0.890 / 0.979 | 0.954 / 0.996 | 0.890 / 0.982 | 2412 |

The lowest values are the smallest shapes (a few prototype cells across). The polygon is the
outer contour only, so its fill loses holes and islands even in accurate mode. The coarser
modes' mask (what their RLE carries) is where their grid's field, resized bilinearly to the
frame, is above zero, cut to the box's pixels (edge/tasks/field_masks.py): for an Ultralytics
export's ``fast`` that is accurate's own mask but for float rounding. Their polygon is traced
on the cells and placed between them where the field crosses zero (edge/tasks/subcell.py), so
"fill vs own mask" is the tolerance between a coarser mode's two formats. A Roboflow package's
accurate mask is cut to the box in prototype cells before the resize (``inference_models``),
the coarser modes' at the box's pixels after it, hence the lower floor of that style. The
floors below sit under these values.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import cv2
import jsonschema
import numpy as np
import numpy.typing as npt
import pytest

from edge.model import Model
from edge.models.spec import MaskStyle
from edge.preprocess import PreprocessConfig, ResizeMode, plan_geometry
from edge.tasks.instance_segmentation import InstanceSegmentation
from edge.tasks.mask_crops import MaskCrops
from edge.tasks.mask_modes import FrameCrops, GridMasks, decode_masks, grid_outlines, grid_size
from edge.tasks.params import InferenceParams
from edge.tasks.rle import Rle, decode_crop, encode_crop
from edge.tasks.schema import INSTANCE_SEGMENTATION
from tests.helpers import assert_v1_valid
from tests.tasks.kernels import both_paths  # noqa: F401  (the expected documents on both paths)
from tests.tasks.mask_mode_cases import (
    EXPECTED,
    MODES,
    ULTRALYTICS,
    comparable,
    decode,
    frames,
    outputs,
    package_path,
    params,
)
from tools.record_inference_models_goldens import write_package

# mode: (lowest mask IoU, lowest polygon-fill IoU, median polygon-fill IoU) against accurate,
# and the lowest IoU of the polygon's fill against the mode's own mask (its RLE).
FLOORS = {
    "fast": (0.88, 0.85, 0.96, 0.90),
    "tradeoff 0.5": (0.88, 0.86, 0.97, 0.92),
    "tradeoff 1": (0.88, 0.87, 0.97, 0.94),
}
ACCURATE_FILL_FLOOR = 0.94


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Model]]:
    package = write_package("segment", package_path(tmp_path_factory.mktemp("pkg")))
    opened = {"ultralytics": Model.open(ULTRALYTICS), "roboflow": Model.open(package)}
    yield opened
    for m in opened.values():
        m.close()


@pytest.fixture(scope="module")
def results(models: dict[str, Model]) -> dict[tuple[str, str], list[InstanceSegmentation]]:
    """(style, mode) -> one result per frame, RLE requested (the polygons come from the same result)."""
    out: dict[tuple[str, str], list[InstanceSegmentation]] = {}
    for style, model in models.items():
        raw = [outputs(model, img) for _, img in frames()]
        for mode in MODES:
            out[style, mode] = [decode(model, r, params(mode, "rle")) for r in raw]
    return out


def _iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def _rle_masks(result: InstanceSegmentation) -> npt.NDArray[np.bool_]:
    """The full-frame masks the v1 document's rle items decode to."""
    items = result.to_v1()["predictions"]
    full = np.zeros((len(items), result.image.height, result.image.width), dtype=bool)
    for i, item in enumerate(items):
        assert item["mask_format"] == "rle" and "points" not in item
        (x0, y0, x1, y1), crop = decode_crop(Rle.from_v1(item["rle"]))
        full[i, y0:y1, x0:x1] = crop
    return full


def _fills(result: InstanceSegmentation) -> npt.NDArray[np.bool_]:
    return MaskCrops.from_polygons(result.polygons(), result.image.width, result.image.height).full()


@pytest.mark.parametrize("style", ["ultralytics", "roboflow"])
def test_accurate_rle_is_exactly_the_accurate_masks(
    results: dict[tuple[str, str], list[InstanceSegmentation]], style: str
) -> None:
    ious: list[float] = []
    for r in results[style, "accurate"]:
        rle = _rle_masks(r)
        np.testing.assert_array_equal(rle, r.full_masks())
        ious += [_iou(a, b) for a, b in zip(rle, _fills(r))]
    # The polygon is the outer contour only (holes and islands dropped): its fill is close, not equal.
    assert len(ious) >= 30 and min(ious) >= ACCURATE_FILL_FLOOR, min(ious)


@pytest.mark.parametrize("style", ["ultralytics", "roboflow"])
@pytest.mark.parametrize("mode", list(FLOORS))
def test_coarser_modes_keep_detections_and_stay_near_accurate(
    results: dict[tuple[str, str], list[InstanceSegmentation]], style: str, mode: str
) -> None:
    mask_floor, fill_floor, fill_median, own_floor = FLOORS[mode]
    masks, fills, own = [], [], []
    for acc, r in zip(results[style, "accurate"], results[style, mode]):
        np.testing.assert_array_equal(r.xyxy, acc.xyxy)  # only the masks depend on the mode
        np.testing.assert_array_equal(r.class_id, acc.class_id)
        rle, fill, truth = _rle_masks(r), _fills(r), acc.full_masks()
        np.testing.assert_array_equal(rle, r.full_masks())
        masks += [_iou(a, b) for a, b in zip(rle, truth)]
        fills += [_iou(a, b) for a, b in zip(fill, truth)]
        own += [_iou(a, b) for a, b in zip(fill, rle)]
    assert min(masks) >= mask_floor, (min(masks), np.median(masks))
    assert min(fills) >= fill_floor and np.median(fills) >= fill_median, (min(fills), np.median(fills))
    assert min(own) >= own_floor, min(own)


def test_coarser_modes_send_fewer_vertices(results: dict[tuple[str, str], list[InstanceSegmentation]]) -> None:
    def vertices(mode: str) -> int:
        return sum(len(p) for r in results["ultralytics", mode] for p in r.polygons())

    assert vertices("fast") < vertices("tradeoff 0.5") < vertices("accurate")


def _expected() -> dict[str, dict[str, Any]]:
    doc: dict[str, dict[str, Any]] = json.loads(EXPECTED.read_text())
    return doc


@pytest.mark.parametrize("key", list(_expected()))
@pytest.mark.usefixtures("both_paths")
def test_documents_match_the_expected_ones(models: dict[str, Model], key: str) -> None:
    style, mode, fmt = key.split(" / ")
    expected = _expected()[key]
    cases = dict(frames())
    for name, want in expected.items():
        got = comparable(decode(models[style], outputs(models[style], cases[name]), params(mode, fmt)).to_v1())
        assert len(got["predictions"]) == len(want["predictions"]), name
        for g, w in zip(got["predictions"], want["predictions"]):
            if fmt == "polygon":
                gp, wp = g.pop("points"), w.pop("points")
                np.testing.assert_allclose([[q["x"], q["y"]] for q in gp], [[q["x"], q["y"]] for q in wp], atol=1e-6)
            # The score is the model's float32 output: ONNX Runtime releases differ in its last bits.
            np.testing.assert_allclose(g.pop("confidence"), w.pop("confidence"), rtol=1e-5)
            assert g == w, name


def test_an_rle_document_parses_back_to_the_same_masks(
    results: dict[tuple[str, str], list[InstanceSegmentation]],
) -> None:
    r = results["ultralytics", "fast"][0]
    back = InstanceSegmentation.from_v1(r.to_v1(), r.class_names)
    assert back.mask_format == "rle"
    np.testing.assert_array_equal(back.full_masks(), r.full_masks())
    assert back.to_v1()["predictions"][0]["rle"] == r.to_v1()["predictions"][0]["rle"]


# -- the grid pieces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mode", "factor", "expected"),
    [
        ((640, 480), "fast", 0.0, (160, 120)),  # letterboxed: the content cells only
        ((640, 480), "tradeoff", 0.0, (160, 120)),
        ((640, 480), "tradeoff", 1.0, (640, 480)),
        ((640, 480), "tradeoff", 0.5, (400, 300)),
        ((1280, 720), "tradeoff", 0.3, (304, 171)),
    ],
)
def test_grid_size_blends_prototypes_and_input(
    size: tuple[int, int], mode: str, factor: float, expected: tuple[int, int]
) -> None:
    g = plan_geometry(*size, PreprocessConfig(640, 640))
    x0, y0, x1, y1 = g.content_window()
    assert grid_size(g, ((x1 - x0) // 4, (y1 - y0) // 4), mode, factor) == expected


SHAPES = {
    # name: (cells, whether the outline's fill is exactly the cells at any scale)
    "one cell": (["#"], True),
    "a bar": (["####"], True),
    "a column": (["#", "#", "#"], True),
    "a block": (["###", "###"], True),
    # A contour cuts concave corners diagonally (8-connected tracing), and the moved diagonal
    # then takes a little triangle of the frame pixels outside the cells: close, not equal.
    "an L": (["#..", "#..", "###"], False),
    "a spur": (["###.....", "###.....", "########", "###....."], False),
}


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("scale", [1, 4, 8])
def test_a_rectilinear_outline_fills_to_its_cells_at_frame_size(name: str, scale: int) -> None:
    rows, exact = SHAPES[name]
    cells = np.array([[c == "#" for c in row] for row in rows])
    h, w = cells.shape
    grid = GridMasks(MaskCrops(np.array([[1, 1, 1 + w, 1 + h]], dtype=np.int64), (cells,), w + 2, h + 2), 0, 0)
    grid = GridMasks(grid.cells, (w + 2) * scale, (h + 2) * scale)
    fill = MaskCrops.from_polygons(grid.polygons(), grid.width, grid.height).full()[0]
    frame = grid.to_frame().full()[0]
    expected = np.kron(np.pad(cells, 1), np.ones((scale, scale), dtype=bool))
    np.testing.assert_array_equal(frame, expected)
    if exact or scale == 1:
        np.testing.assert_array_equal(fill, expected)
    else:
        assert _iou(fill, expected) >= 0.95


def test_outlines_of_no_contour_stay_empty() -> None:
    out = grid_outlines([np.zeros((0, 2)), np.array([[2.0, 3.0]])], 4.0, 4.0)
    assert out[0].shape == (0, 2)
    np.testing.assert_allclose(out[1], [[8.0, 12.0], [11.0, 12.0], [11.0, 15.0], [8.0, 15.0]])


def test_a_grid_mask_maps_each_frame_pixel_to_its_cell() -> None:
    cells = np.array([[True, False], [False, True]])
    grid = GridMasks(MaskCrops(np.array([[0, 0, 2, 2]], dtype=np.int64), (cells,), 2, 2), 5, 3)
    frame = grid.to_frame()
    # 5 px over 2 cells: pixel centres 0.5..4.5 fall in cells 0,0,1,1,1; rows 0,1,1.
    assert frame.full()[0].astype(int).tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]]


@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_and_format_validates_against_the_v1_schema(
    results: dict[tuple[str, str], list[InstanceSegmentation]], mode: str
) -> None:
    r = results["ultralytics", mode][0]
    rle_doc = r.to_v1("id", 0.01)
    polygon_doc = dataclasses.replace(r, mask_format="polygon").to_v1("id", 0.01)
    for doc in (rle_doc, polygon_doc):
        assert doc["predictions"]
        assert_v1_valid(doc, "instance-segmentation")
    both = {**rle_doc["predictions"][0], "points": []}  # an item is one format or the other
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**rle_doc, "predictions": [both]}, INSTANCE_SEGMENTATION)


def test_frame_pixels_of_a_coarse_mode_are_built_only_when_read(models: dict[str, Model]) -> None:
    raw = outputs(models["ultralytics"], frames()[0][1])
    r = decode(models["ultralytics"], raw, params("fast"))
    assert isinstance(r.mask_crops, FrameCrops) and r.grid is not None
    r.to_v1()  # polygons come from the grid
    assert r.mask_crops.__dict__["_built"] is None
    eager = r.grid.to_frame()
    np.testing.assert_array_equal(r.full_masks(), eager.full())
    assert len(r.mask_crops) == len(eager) and r.mask_crops.__dict__["_built"] is not None


@pytest.mark.parametrize(
    ("grid_w", "grid_h", "width", "height"),
    [(16, 9, 1280, 720), (7, 5, 997, 611), (5, 5, 5, 5), (9, 8, 4, 3)],  # the last: more cells than pixels
)
@pytest.mark.usefixtures("both_paths")
def test_rle_from_cells_is_the_rle_of_the_frame_pixels(grid_w: int, grid_h: int, width: int, height: int) -> None:
    rng = np.random.default_rng(grid_w)
    windows = np.array([[0, 0, grid_w, grid_h], [1, 0, 4, grid_h], [2, 1, 5, 3], [0, 2, 3, 4]], dtype=np.int64)
    crops = tuple(
        rng.random((y1 - y0, x1 - x0)) < (0.6 if i != 2 else 0.0) for i, (x0, y0, x1, y1) in enumerate(windows.tolist())
    )
    grid = GridMasks(MaskCrops(windows, crops, grid_w, grid_h), width, height)
    frame = grid.to_frame()
    strings = grid.rle_strings()  # the compiled kernel's on its path
    for counts, text, (x0, y0, _, _), crop in zip(grid.rle_counts(), strings, frame.windows.tolist(), frame.crops):
        want = encode_crop(crop, x0, y0, width, height)
        np.testing.assert_array_equal(counts, want.counts)
        assert text == want.to_v1()["counts"]


@pytest.mark.parametrize("resize", [ResizeMode.LETTERBOX, ResizeMode.STRETCH])
@pytest.mark.parametrize("style", [MaskStyle.ULTRALYTICS, MaskStyle.ROBOFLOW])
def test_coarse_modes_land_where_accurate_masks_are_for_each_resize(resize: ResizeMode, style: MaskStyle) -> None:
    """Smooth synthetic prototypes on a 997x611 frame: a misplaced grid would cost IoU everywhere."""
    rng = np.random.default_rng(11)
    W, H, n = 997, 611, 12
    g = plan_geometry(W, H, PreprocessConfig(640, 640, resize_mode=resize))
    protos = np.stack([cv2.GaussianBlur(p, (0, 0), 5.0) for p in rng.normal(size=(8, 160, 160)).astype(np.float32)])
    protos = protos / protos.std(axis=(1, 2), keepdims=True)
    protos[0] = 1.0
    coeffs = rng.normal(scale=0.4, size=(n, 8)).astype(np.float32)
    coeffs[:, 0] = 0.5
    ctr, wh = rng.uniform([150, 150], [W - 150, H - 150], size=(n, 2)), rng.uniform(120, 260, size=(n, 2))
    xyxy = np.concatenate([ctr - wh / 2, ctr + wh / 2], axis=1)
    xyxy_net = xyxy * np.array([g.scale_x, g.scale_y] * 2) + np.array([g.offset_x, g.offset_y] * 2)
    truth, _ = decode_masks(coeffs, protos, g, xyxy, xyxy_net, InferenceParams(), style)
    for mode, factor, floor in (("fast", 0.0, 0.85), ("tradeoff", 0.5, 0.9)):
        p = InferenceParams(mask_decode_mode=mode, tradeoff_factor=factor)  # type: ignore[arg-type]
        crops, grid = decode_masks(coeffs, protos, g, xyxy, xyxy_net, p, style)
        assert grid is not None
        fills = MaskCrops.from_polygons(grid.polygons(), W, H).full()
        ious = [_iou(a, b) for a, b in zip(crops.full(), truth.full())]
        fill_ious = [_iou(a, b) for a, b in zip(fills, truth.full())]
        assert np.median(ious) >= floor and np.median(fill_ious) >= floor, (mode, np.median(ious), np.median(fill_ious))
