#!/usr/bin/env python3
"""CPU per frame and mask IoU against ``accurate`` of each mask decode mode and mask format.

    .venv/bin/python tools/bench_mask_modes.py                 # fixture model + large synthetic case
    .venv/bin/python tools/bench_mask_modes.py --crowd          # + the crowd models, if made
    .venv/bin/python tools/bench_mask_modes.py --model M.onnx --clip C.mp4   # any seg model and clip

Cases:

* ``fixture``: tests/fixtures/models/shapes-segment.onnx on the golden and example images
  (small shapes, 40-130 px);
* ``large``: a synthetic 1280x720 frame with 77 instances whose boxes are a few hundred pixels
  across (median about 240 x 210, as in issue 18), masks from smooth random 160x160 prototypes
  of a 640 model (Gaussian-blurred noise, so outlines have hundreds of vertices);
* ``crowd`` / ``--model``: a real model on frames of a clip (edge bench --crowd's files).

The model runs once per frame; then each mode decodes the same outputs. Timed on one thread
(OpenCV and BLAS set to 1), CPU seconds (``process_time``), median over ``--repeat`` rounds:
``masks`` (prototypes to masks, NMS excluded: the same for every mode), ``v1`` (the v1 dicts:
polygons or RLE), ``json`` (edge.jsonfast). IoU: each instance's mask (what its RLE carries)
and its polygon's fill against the accurate mask, 5th percentile and median over all instances.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.jsonfast import dumps_bytes  # noqa: E402
from edge.model import Model  # noqa: E402
from edge.models.spec import MaskStyle  # noqa: E402
from edge.preprocess import Geometry, PreprocessConfig, plan_geometry  # noqa: E402
from edge.tasks.detection import Detections, select  # noqa: E402
from edge.tasks.instance_segmentation import InstanceSegmentation  # noqa: E402
from edge.tasks.layout import check_output_shapes  # noqa: E402
from edge.tasks.mask_crops import MaskCrops  # noqa: E402
from edge.tasks.mask_modes import decode_masks  # noqa: E402
from edge.tasks.params import InferenceParams  # noqa: E402
from edge.tasks.v1 import ImageSize  # noqa: E402

MODES = [
    ("accurate", "accurate", 0.0),
    ("tradeoff 1", "tradeoff", 1.0),
    ("tradeoff 0.5", "tradeoff", 0.5),
    ("tradeoff 0.25", "tradeoff", 0.25),
    ("fast", "fast", 0.0),
]


@dataclass
class Frame:
    """One frame's detections and the mask inputs every mode decodes from."""

    boxes: Detections
    coeffs: npt.NDArray[np.float32]
    protos: npt.NDArray[np.float32]
    geometry: Geometry
    xyxy_net: npt.NDArray[np.float64]
    style: MaskStyle


@dataclass
class Row:
    masks: list[float] = field(default_factory=list)
    v1: list[float] = field(default_factory=list)
    json: list[float] = field(default_factory=list)
    bytes: int = 0
    vertices: int = 0
    mask_iou: list[float] = field(default_factory=list)
    fill_iou: list[float] = field(default_factory=list)


def decode(frame: Frame, params: InferenceParams) -> InstanceSegmentation:
    b = frame.boxes
    crops, grid = decode_masks(frame.coeffs, frame.protos, frame.geometry, b.xyxy, frame.xyxy_net, params, frame.style)
    return InstanceSegmentation(
        xyxy=b.xyxy,
        confidence=b.confidence,
        class_id=b.class_id,
        class_names=b.class_names,
        image=b.image,
        mask_crops=crops,
        grid=grid,
        mask_format=params.response_mask_format,
    )


def _iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


# -- cases ---------------------------------------------------------------------------------


def model_frames(path: Path, images: list[npt.NDArray[np.uint8]]) -> list[Frame]:
    """Run the model once per image and keep what the mask decoders need."""
    out: list[Frame] = []
    with Model.open(path) as model:
        spec, names = model.spec, [o.name for o in model.backend.outputs]
        nc = len(spec.class_names)
        for image in images:
            outputs, geoms = model.backend.infer_images([image], spec.preprocess)
            layout = check_output_shapes(spec, [(n, tuple(o.shape)) for n, o in zip(names, outputs)])
            assert layout.protos is not None, f"{path} is not an instance segmentation model"
            main, protos = np.asarray(outputs[layout.main])[0], np.asarray(outputs[layout.protos])[0]
            g = geoms[0]
            c = select(main, nc, InferenceParams())
            boxes = Detections(
                xyxy=g.boxes_to_source(c.xyxy_net),
                confidence=c.confidence,
                class_id=c.class_id,
                class_names=spec.class_names,
                image=ImageSize(g.src_w, g.src_h),
            )
            m = protos.shape[0]
            coeffs = np.asarray(c.rows[:, 4 + nc : 4 + nc + m], dtype=np.float32)
            out.append(Frame(boxes, coeffs, protos.astype(np.float32), g, c.xyxy_net, spec.mask_style))
    return out


def fixture_images() -> list[npt.NDArray[np.uint8]]:
    paths = sorted((ROOT / "tests" / "fixtures" / "golden" / "images").glob("detect-*.png"))
    paths += sorted((ROOT / "examples" / "images").glob("*.jpg"))
    return [np.asarray(cv2.imread(str(p)), dtype=np.uint8) for p in paths]


def clip_images(clip: Path, count: int) -> list[npt.NDArray[np.uint8]]:
    cap = cv2.VideoCapture(str(clip))
    images: list[npt.NDArray[np.uint8]] = []
    while len(images) < count:
        ok, image = cap.read()
        if not ok:
            break
        images.append(np.asarray(image, dtype=np.uint8))
    cap.release()
    if not images:
        raise SystemExit(f"no frames could be read from {clip}")
    return images


def large_frames(count: int, instances: int = 77, seed: int = 0) -> list[Frame]:
    """Synthetic frames: smooth random prototypes, boxes a few hundred pixels across."""
    rng = np.random.default_rng(seed)
    W, H = 1280, 720
    g = plan_geometry(W, H, PreprocessConfig(640, 640))
    out: list[Frame] = []
    for _ in range(count):
        # Smooth random prototypes plus a constant one, and coefficients that lean on it, so each
        # box holds mostly one blob with a wavy outline (hundreds of vertices), as real masks do.
        noise = rng.normal(size=(32, 160, 160)).astype(np.float32)
        protos = np.stack([cv2.GaussianBlur(p, (0, 0), 6.0) for p in noise])
        protos /= protos.std(axis=(1, 2), keepdims=True)
        protos[0] = 1.0
        coeffs = rng.normal(scale=0.35, size=(instances, 32)).astype(np.float32)
        coeffs[:, 0] = 0.6
        wh = np.exp(rng.normal(np.log([240, 210]), 0.45, size=(instances, 2)))
        ctr = rng.uniform([0, 0], [W, H], size=(instances, 2))
        xyxy = np.clip(np.concatenate([ctr - wh / 2, ctr + wh / 2], axis=1), 0, [W, H, W, H])
        xyxy_net = xyxy * np.array([g.scale_x, g.scale_y] * 2) + np.array([g.offset_x, g.offset_y] * 2)
        boxes = Detections(
            xyxy=xyxy,
            confidence=rng.uniform(0.3, 0.9, size=instances).astype(np.float32),
            class_id=np.zeros(instances, dtype=np.int64),
            class_names=("object",),
            image=ImageSize(W, H),
        )
        out.append(Frame(boxes, coeffs, protos, g, xyxy_net, MaskStyle.ULTRALYTICS))
    return out


# -- measuring -----------------------------------------------------------------------------


def measure(frames: list[Frame], repeat: int) -> Iterator[tuple[str, str, Row]]:
    truth = [decode(f, InferenceParams()).full_masks() for f in frames]
    for name, mode, factor in MODES:
        for fmt in ("polygon", "rle"):
            params = InferenceParams(mask_decode_mode=mode, tradeoff_factor=factor, response_mask_format=fmt)  # type: ignore[arg-type]
            row = Row()
            for _ in range(repeat):
                masks = v1 = js = 0.0
                for f in frames:
                    t0 = time.process_time()
                    result = decode(f, params)
                    t1 = time.process_time()
                    doc = result.to_v1("id", 0.01)
                    t2 = time.process_time()
                    data = dumps_bytes(doc)
                    t3 = time.process_time()
                    masks, v1, js = masks + t1 - t0, v1 + t2 - t1, js + t3 - t2
                row.masks.append(masks / len(frames) * 1e3)
                row.v1.append(v1 / len(frames) * 1e3)
                row.json.append(js / len(frames) * 1e3)
            row.bytes = len(data)
            for f, acc in zip(frames, truth):
                result = decode(f, params)
                polys = result.polygons()
                row.vertices += sum(len(p) for p in polys)
                fills = MaskCrops.from_polygons(polys, result.image.width, result.image.height).full()
                own = result.full_masks()
                row.mask_iou += [_iou(a, b) for a, b in zip(own, acc)]
                row.fill_iou += [_iou(a, b) for a, b in zip(fills, acc)]
            row.vertices //= len(frames)
            yield name, fmt, row


def _spread(values: list[float]) -> str:
    """5th percentile / median: the lowest single values are slivers at the frame's edge."""
    return f"{np.percentile(values, 5):.3f} / {statistics.median(values):.3f}"


def report(title: str, frames: list[Frame], repeat: int) -> None:
    n = statistics.median([len(f.boxes) for f in frames])
    print(f"\n## {title}: {len(frames)} frames, median {n:g} instances a frame, {repeat} rounds\n")
    print(
        "| mode | format | masks ms | v1 ms | json ms | total ms | × accurate | KB/frame | vertices/frame"
        " | mask IoU p5 / median | polygon fill IoU p5 / median |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base: float | None = None
    for name, fmt, row in measure(frames, repeat):
        m, v, j = (statistics.median(x) for x in (row.masks, row.v1, row.json))
        total = m + v + j
        base = total if base is None else base
        fill = _spread(row.fill_iou) if fmt == "polygon" else ""
        print(
            f"| {name} | {fmt} | {m:.2f} | {v:.2f} | {j:.2f} | {total:.2f} | {total / base:.2f} | "
            f"{row.bytes / 1024:.0f} | {row.vertices if fmt == 'polygon' else ''} | "
            f"{_spread(row.mask_iou)} | {fill} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--large-frames", type=int, default=3)
    ap.add_argument("--crowd", action="store_true", help="also the crowd models of edge bench --crowd, if made")
    ap.add_argument("--model", type=Path, help="an instance segmentation model to run on --clip")
    ap.add_argument("--clip", type=Path)
    ap.add_argument("--frames", type=int, default=10, help="frames of --clip (or the crowd clip)")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    report(
        "fixture (shapes-segment.onnx, small shapes)",
        model_frames(ROOT / "tests/fixtures/models/shapes-segment.onnx", fixture_images()),
        a.repeat,
    )
    report("large (synthetic, 1280x720, boxes ~240x210)", large_frames(a.large_frames), a.repeat)
    if a.crowd:
        from edge.bench.cases import crowd_files

        segment, _, clip = crowd_files()
        report(f"crowd ({segment.name} on {clip.name})", model_frames(segment, clip_images(clip, a.frames)), a.repeat)
    if a.model:
        if a.clip is None:
            raise SystemExit("--model needs --clip")
        report(f"{a.model.name} on {a.clip.name}", model_frames(a.model, clip_images(a.clip, a.frames)), a.repeat)


if __name__ == "__main__":
    main()
