#!/usr/bin/env python3
"""Self-check for a device with TensorRT: do our engines agree with ONNX Runtime, and how fast are they?

For every fixture model (tests/fixtures/models/shapes-*.onnx) this builds an engine (FP16 by
default, through the engine cache, so a second run builds nothing), runs it and the ONNX
Runtime backend on the same preprocessed images, decodes both, and compares: the classes and
boxes of confident detections (box IoU), instance masks (mask IoU), keypoints, classification
top-1 and probabilities, semantic class maps. It also checks the CUDA preprocessing kernel
against the CPU preprocessing (max difference <= 1/255) and times engine against ONNX Runtime.

    python tools/jetson_selfcheck.py                 # all fixture models, fp16
    python tools/jetson_selfcheck.py --precision fp32 --runs 50 --images my_frames/
    python tools/jetson_selfcheck.py --precision int8 --calibration my_frames/

Exit status: 0 when everything agrees, 1 on any disagreement, 2 when it cannot run at all.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.errors import EdgeError  # noqa: E402
from edge.evaluation import mask_iou  # noqa: E402
from edge.models import load_spec  # noqa: E402
from edge.models.spec import ModelSpec  # noqa: E402
from edge.preprocess import preprocess  # noqa: E402
from edge.tasks.boxes import box_iou  # noqa: E402
from edge.tasks.classification import Classification  # noqa: E402
from edge.tasks.decode import Result, decode_batch  # noqa: E402
from edge.tasks.detection import Detections  # noqa: E402
from edge.tasks.instance_segmentation import InstanceSegmentation  # noqa: E402
from edge.tasks.keypoints import KeypointDetections  # noqa: E402
from edge.tasks.params import InferenceParams  # noqa: E402
from edge.tasks.semantic_segmentation import SemanticSegmentation  # noqa: E402

# What "agree" means for an FP16 engine against the float32 reference.
CONFIDENT = 0.5  # detections at least this confident must be found by the other side...
CANDIDATE = 0.25  # ...among its detections at least this confident (no flicker at the threshold)
MATCH_IOU = 0.5
MIN_MEAN_BOX_IOU = 0.9
MIN_MEAN_MASK_IOU = 0.85
MAX_KEYPOINT_PX = 4.0
MAX_PROB_DIFF = 0.05
MIN_PIXEL_AGREEMENT = 0.98
MAX_PREPROCESS_LEVELS = 1.0  # CUDA vs CPU preprocessing: one 8-bit level (1/255 at scaling 255)

Image = npt.NDArray[np.uint8]


@dataclass
class Agreement:
    """Accumulated comparison of one model's results on all images."""

    expected: int = 0
    matched: int = 0
    box_ious: list[float] = field(default_factory=list)
    mask_ious: list[float] = field(default_factory=list)
    keypoint_px: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _match(ref: Detections, got: Detections) -> list[tuple[int, int]]:
    """Greedy pairs (ref index, got index): same class, best IoU >= MATCH_IOU, best first."""
    iou = box_iou(ref.xyxy, got.xyxy) if len(ref) and len(got) else np.zeros((len(ref), len(got)))
    used: set[int] = set()
    pairs = []
    for i in np.argsort(-ref.confidence, kind="stable"):
        cand = [(iou[i, j], j) for j in range(len(got)) if j not in used and got.class_id[j] == ref.class_id[i]]
        if cand and max(cand)[0] >= MATCH_IOU:
            j = max(cand)[1]
            used.add(j)
            pairs.append((int(i), j))
    return pairs


def compare_detections(ref: Detections, got: Detections, agg: Agreement, where: str) -> None:
    pairs = _match(ref, got)
    paired_ref, paired_got = {i for i, _ in pairs}, {j for _, j in pairs}
    for side, dets, paired in (("reference", ref, paired_ref), ("engine", got, paired_got)):
        for k in np.flatnonzero(dets.confidence >= CONFIDENT):
            agg.expected += 1
            if k in paired:
                agg.matched += 1
            else:
                name = dets.class_names[dets.class_id[k]]
                agg.problems.append(f"{where}: {side} {name} {dets.confidence[k]:.2f} has no counterpart")
    for i, j in pairs:
        agg.box_ious.append(float(box_iou(ref.xyxy[i : i + 1], got.xyxy[j : j + 1])[0, 0]))
        if isinstance(ref, InstanceSegmentation) and isinstance(got, InstanceSegmentation):
            agg.mask_ious.append(float(mask_iou(ref.masks[i : i + 1], got.masks[j : j + 1])[0, 0]))
        if isinstance(ref, KeypointDetections) and isinstance(got, KeypointDetections):
            d = np.linalg.norm(ref.keypoints_xy[i] - got.keypoints_xy[j], axis=-1)
            agg.keypoint_px.append(float(d.max()) if d.size else 0.0)


def compare(ref: Result, got: Result, agg: Agreement, where: str) -> None:
    if isinstance(ref, Detections) and isinstance(got, Detections):
        compare_detections(ref, got, agg, where)
    elif isinstance(ref, Classification) and isinstance(got, Classification):
        agg.expected += 1
        diff = float(np.abs(ref.confidence - got.confidence).max())
        if int(ref.confidence.argmax()) == int(got.confidence.argmax()) and diff <= MAX_PROB_DIFF:
            agg.matched += 1
        else:
            agg.problems.append(f"{where}: top-1 {ref.confidence.argmax()} vs {got.confidence.argmax()}, Δp {diff:.3f}")
    elif isinstance(ref, SemanticSegmentation) and isinstance(got, SemanticSegmentation):
        agg.expected += 1
        same = float((ref.class_map == got.class_map).mean())
        if same >= MIN_PIXEL_AGREEMENT:
            agg.matched += 1
        else:
            agg.problems.append(f"{where}: only {same:.1%} of pixels have the same class")
    else:
        agg.problems.append(f"{where}: result types differ ({type(ref).__name__} vs {type(got).__name__})")


def judge(agg: Agreement) -> None:
    """Add problems for averages outside the limits."""
    # (values, limit, name, whether larger is better)
    checks = [
        (agg.box_ious, MIN_MEAN_BOX_IOU, "mean box IoU", True),
        (agg.mask_ious, MIN_MEAN_MASK_IOU, "mean mask IoU", True),
        (agg.keypoint_px, MAX_KEYPOINT_PX, "mean keypoint distance (px)", False),
    ]
    for values, limit, what, higher_is_better in checks:
        if not values:
            continue
        mean = float(np.mean(values))
        if (mean < limit) if higher_is_better else (mean > limit):
            agg.problems.append(f"{what} {mean:.3f} outside the limit {limit}")


def median_ms(fn: Callable[[], object], runs: int) -> float:
    for _ in range(3):  # warm-up: lazy allocations, clocks ramping up
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def load_images(task: str, folder: Path | None, count: int) -> list[Image]:
    if folder is not None:
        from edge.imageio import read_image

        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))
        return [read_image(p) for p in paths[:count]]
    from edge.demo.shapes import SceneKind, held_out

    kind = {"pose": SceneKind.POSE, "classify": SceneKind.CLASSIFY, "multilabel": SceneKind.MULTILABEL}
    return [s.image for s in held_out(2024, count, kind.get(task, SceneKind.DETECT))]


def kernel_difference(spec: ModelSpec, images: Sequence[Image]) -> float:
    """Max |CUDA kernel - CPU preprocessing| over the images, in 8-bit levels of the input
    (one level is 1/scaling, divided by std when the model normalizes)."""
    import pycuda.driver as cuda

    from edge.gpu.context import primary_context
    from edge.gpu.cuda_preprocess import CudaPreprocessor

    cfg = spec.preprocess
    level = np.full((3, 1, 1), 1.0 / cfg.scaling)
    if cfg.std is not None:
        level /= np.asarray(cfg.std).reshape(3, 1, 1)
    worst = 0.0
    with primary_context().active():
        pre = CudaPreprocessor(cfg)  # the shipped PTX, as the service loads it: no nvcc needed
        stream = cuda.Stream()
        dst = cuda.mem_alloc(3 * cfg.width * cfg.height * 4)
        try:
            out = np.empty((3, cfg.height, cfg.width), np.float32)
            for image in images:
                pre.run([image], int(dst), stream)
                cuda.memcpy_dtoh_async(out, dst, stream)
                stream.synchronize()
                worst = max(worst, float((np.abs(out - preprocess([image], cfg)[0][0]) / level).max()))
        finally:
            # Everything that belongs to the context goes while it is current: pycuda cannot
            # clean up a stream or a module after its context was popped.
            pre.close()
            dst.free()
            del stream
    return worst


@dataclass
class Row:
    model: str
    task: str
    images: int
    agreement: Agreement
    kernel_diff: float
    trt_ms: float
    ort_ms: float
    gpu_path_ms: float

    @property
    def kernel_ok(self) -> bool:
        return self.kernel_diff <= MAX_PREPROCESS_LEVELS + 1e-4

    @property
    def ok(self) -> bool:
        return self.agreement.ok and self.kernel_ok


def check_model(path: Path, args: argparse.Namespace) -> Row:
    from edge.backends.onnxruntime import OnnxRuntimeBackend
    from edge.backends.tensorrt import TensorRTBackend
    from edge.engines.progress import TextProgressBar

    spec = load_spec(path)
    task = path.stem.removeprefix("shapes-")
    images = load_images(task, args.images, args.count)
    params = InferenceParams(confidence=CANDIDATE)
    bar = TextProgressBar(sys.stderr)
    trt = TensorRTBackend(
        spec.onnx_path, engine_dir=args.engines, precision=args.precision, calibration=args.calibration, progress=bar
    )
    bar.close()
    ort = OnnxRuntimeBackend(spec.onnx_path)
    names = [o.name for o in ort.outputs]
    agg = Agreement()
    try:
        for k, image in enumerate(images):
            batch, geoms = preprocess([image], spec.preprocess)
            (ref,) = decode_batch(spec, ort.infer(batch), geoms, params, names)
            (got,) = decode_batch(spec, trt.infer(batch), geoms, params, names)
            compare(ref, got, agg, f"image {k}")
        judge(agg)
        batch, _ = preprocess(images[:1], spec.preprocess)
        trt_ms = median_ms(lambda: trt.infer(batch), args.runs)
        ort_ms = median_ms(lambda: ort.infer(batch), args.runs)
        gpu_ms = median_ms(lambda: trt.infer_images(images[:1], spec.preprocess), args.runs)
    finally:
        trt.close()
    diff = kernel_difference(spec, images)
    return Row(path.stem, task, len(images), agg, diff, trt_ms, ort_ms, gpu_ms)


def _fmt(values: list[float]) -> str:
    return f"{np.mean(values):.3f}" if values else "-"


def print_table(rows: Sequence[Row]) -> None:
    head = (
        "model",
        "images",
        "agree",
        "box IoU",
        "mask IoU",
        "kpt px",
        "pre Δ lv",
        "engine ms",
        "ORT ms",
        "x",
        "GPU pre+engine ms",
    )
    lines = [head]
    for r in rows:
        a = r.agreement
        lines.append((
            r.model, str(r.images), f"{a.matched}/{a.expected}", _fmt(a.box_ious), _fmt(a.mask_ious),
            _fmt(a.keypoint_px), f"{r.kernel_diff:.2f}", f"{r.trt_ms:.2f}", f"{r.ort_ms:.2f}",
            f"{r.ort_ms / r.trt_ms:.1f}" if r.trt_ms > 0 else "-", f"{r.gpu_path_ms:.2f}",
        ))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)))
    for r in rows:
        for p in r.agreement.problems[:10]:
            print(f"{r.model}: DISAGREES: {p}")
        if not r.kernel_ok:
            print(f"{r.model}: DISAGREES: CUDA preprocessing differs from the CPU path by {r.kernel_diff:.2f} levels")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--models", type=Path, default=ROOT / "tests" / "fixtures" / "models", help="folder of shapes-*.onnx"
    )
    ap.add_argument("--images", type=Path, help="images to compare on (default: generated shapes scenes)")
    ap.add_argument("--count", type=int, default=8, help="images per model (default 8)")
    ap.add_argument("--precision", default="fp16", choices=["fp32", "fp16", "int8"])
    ap.add_argument(
        "--calibration", type=Path, metavar="DIR", help="int8: a folder of representative images to calibrate on"
    )
    ap.add_argument("--engines", type=Path, help="engine cache (default: the usual one)")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per backend (default 30)")
    args = ap.parse_args(argv)
    if (args.precision == "int8") != (args.calibration is not None):
        ap.error("--precision int8 and --calibration DIR go together (int8 calibrates on the folder's images)")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    models = sorted(args.models.glob("shapes-*.onnx"))
    if not models:
        print(f"selfcheck: no shapes-*.onnx in {args.models}", file=sys.stderr)
        return 2
    try:
        from edge.engines.device import detect_device

        dev = detect_device()
    except EdgeError as exc:
        print(f"selfcheck: cannot run: {exc}", file=sys.stderr)
        return 2
    print(f"TensorRT {dev.tensorrt_version} on {dev.gpu_name} (sm {dev.capability}), {args.precision}")
    rows: list[Row] = []
    failed: list[str] = []
    for path in models:
        try:
            rows.append(check_model(path, args))
        except EdgeError as exc:
            failed.append(f"{path.stem}: {exc}")
    print_table(rows)
    for f in failed:
        print(f"FAILED: {f}")
    bad = [r.model for r in rows if not r.ok] + [f.split(":")[0] for f in failed]
    print("selfcheck: " + (f"DISAGREEMENT or FAILURE in {', '.join(bad)}" if bad else f"all {len(rows)} models agree"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
