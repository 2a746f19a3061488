#!/usr/bin/env python3
"""Train the shapes-world fixture models and export them to ONNX.

    pip install -e '.[tools]'
    python tools/train_fixtures.py --tasks detect,segment,pose,classify,multilabel,semantic

Writes ``tests/fixtures/models/shapes-<task>.onnx`` and, for the Ultralytics tasks, golden
predictions made by Ultralytics itself on the same ONNX files
(``tests/fixtures/golden/<task>.json``) that the test suite compares our decoders against.

The benchmark models (yolov8n-size, not used by the tests, not committed): 10 epochs at 320 px,
then 3 at 640 px, the size they are exported and benchmarked at (about 25 min per task here):

    python tools/train_fixtures.py --tasks detect --scale n --images 600 --epochs 10
    python tools/train_fixtures.py --tasks detect --scale n --images 600 --epochs 3 --train-imgsz 640 \
        --init /tmp/edge-fixtures/runs/detect-n-320/weights/last.pt

(and the same with ``segment``) write ``benchmarks/models/shapes-<task>-n-<size>.onnx`` for
``edge bench --model``.

Deterministic for a seed: datasets are drawn from ``--seed`` and training is seeded.
Ultralytics (AGPL) and torch are imported here only, never by ``edge/``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ runs from a checkout; edge need not be installed

from edge.demo.shapes import (  # noqa: E402
    ARROW_KEYPOINTS,
    SHAPE_CLASSES,
    SceneKind,
    draw_scene,
    held_out,
)

MODELS_DIR = ROOT / "tests" / "fixtures" / "models"
GOLDEN_DIR = ROOT / "tests" / "fixtures" / "golden"
BENCH_DIR = ROOT / "benchmarks" / "models"
GOLDEN_SEED = 777  # never used for training data
IMGSZ = 320

# YOLOv8 scales: depth, width, max channels. The fixtures use "t", slimmer than "n"; the
# benchmark models (--scale n) are yolov8n-size, the size the field notes' figures are for.
SCALES = {"t": "[0.33, 0.125, 1024]", "n": "[0.33, 0.25, 1024]"}


def _sizes(rng: np.random.Generator) -> tuple[int, int]:
    w = int(rng.integers(240, 681))
    h = int(np.clip(w * rng.uniform(0.6, 1.4), 240, 680))
    return w, h


def _yolo_env(work: Path) -> None:
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_CONFIG_DIR"] = str(work / "yolo-config")
    font_dir = work / "yolo-config" / "Ultralytics"
    font_dir.mkdir(parents=True, exist_ok=True)
    import matplotlib

    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        if not (font_dir / name).exists():
            shutil.copy(dejavu, font_dir / name)


def _slim_yaml(work: Path, base: str, extra: str = "", scale: str = "t") -> Path:
    import ultralytics

    src = Path(ultralytics.__file__).parent / "cfg" / "models" / "v8" / base
    lines = src.read_text().splitlines()
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith("scales:"):
            out.append(f"scales:\n  {scale}: {SCALES[scale]}")
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        if extra and line.startswith("kpt_shape:"):
            line = extra
        out.append(line)
    dst = work / f"{scale}-{base}"
    dst.write_text("\n".join(out) + "\n")
    return dst


def _write_yolo_split(root: Path, split: str, n: int, rng: np.random.Generator, kind: str) -> None:
    img_dir = root / "images" / split
    lbl_dir = root / "labels" / split
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    scene_kind = SceneKind.POSE if kind == "pose" else SceneKind.DETECT
    for i in range(n):
        w, h = _sizes(rng)
        sc = draw_scene(rng, w, h, scene_kind)
        cv2.imwrite(str(img_dir / f"{i:05d}.png"), sc.image)
        rows = []
        for cid, box, poly, kpts in zip(
            sc.class_ids,
            sc.boxes,
            sc.polygons,
            sc.keypoints if kind == "pose" else [None] * len(sc.class_ids),
        ):
            if kind == "segment":
                pts = (np.clip(poly, 0, [w, h]) / [w, h]).ravel()
                rows.append(f"{cid} " + " ".join(f"{v:.6f}" for v in pts))
                continue
            cx, cy = (box[0] + box[2]) / 2 / w, (box[1] + box[3]) / 2 / h
            bw, bh = (box[2] - box[0]) / w, (box[3] - box[1]) / h
            row = f"{cid} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}"
            if kpts is not None:
                row += "".join(f" {x / w:.6f} {y / h:.6f} 2" for x, y in kpts)
            rows.append(row)
        (lbl_dir / f"{i:05d}.txt").write_text("\n".join(rows) + "\n")


def _write_classify_split(root: Path, split: str, n: int, rng: np.random.Generator) -> None:
    for name in SHAPE_CLASSES:
        (root / split / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        w, h = _sizes(rng)
        sc = draw_scene(rng, w, h, SceneKind.CLASSIFY)
        name = SHAPE_CLASSES[int(sc.class_ids[0])]
        cv2.imwrite(str(root / split / name / f"{i:05d}.png"), sc.image)


def _export_onnx(weights: Path, dst: Path, imgsz: int) -> None:
    """Export with a dynamic batch but a fixed image size."""
    import onnx
    from ultralytics import YOLO

    out = Path(YOLO(str(weights)).export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, opset=17))
    model = onnx.load(str(out))
    inp = model.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    dims[0].ClearField("dim_value")
    dims[0].dim_param = "batch"
    for d in dims[2:]:
        d.ClearField("dim_param")
        d.dim_value = imgsz
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))


def _golden(task: str, onnx_path: Path, count: int = 6) -> None:
    """Record Ultralytics' own predictions on held-out images, for the decoder tests."""
    from ultralytics import YOLO

    kind = SceneKind.POSE if task == "pose" else SceneKind.DETECT
    model = YOLO(str(onnx_path), task=task)
    images_dir = GOLDEN_DIR / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for i, scene in enumerate(held_out(GOLDEN_SEED, count, kind)):
        name = f"{kind.value}-{i}.png"  # detect and segment share their scenes
        cv2.imwrite(str(images_dir / name), scene.image)
        res = model.predict(scene.image, imgsz=IMGSZ, conf=0.4, iou=0.3, retina_masks=True, rect=False, verbose=False)[
            0
        ]
        rec: dict[str, object] = {
            "image": f"images/{name}",
            "xyxy": res.boxes.xyxy.numpy().round(3).tolist(),
            "class_id": res.boxes.cls.numpy().astype(int).tolist(),
            "confidence": res.boxes.conf.numpy().round(5).tolist(),
        }
        if res.masks is not None:
            rec["masks_png"] = [
                base64.b64encode(cv2.imencode(".png", (m > 0.5).astype(np.uint8) * 255)[1]).decode()
                for m in res.masks.data.numpy()
            ]
        if res.keypoints is not None:
            rec["keypoints"] = res.keypoints.data.numpy().round(3).tolist()
        records.append(rec)
    doc = {"task": task, "model": onnx_path.name, "confidence": 0.4, "overlap": 0.3, "records": records}
    (GOLDEN_DIR / f"{task}.json").write_text(json.dumps(doc, indent=1) + "\n")


def train_ultralytics(
    task: str,
    work: Path,
    seed: int,
    n_train: int,
    epochs: int,
    scale: str = "t",
    export_imgsz: int | None = None,
    train_imgsz: int | None = None,
    init: Path | None = None,
) -> None:
    """Train one task; ``scale`` "t" writes the test fixture (and its golden predictions),
    another scale writes ``benchmarks/models/shapes-<task>-<scale>-<export_imgsz>.onnx``."""
    from ultralytics import YOLO

    _yolo_env(work)
    rng = np.random.default_rng(seed)
    data = work / f"data-{task}"
    if data.exists():
        shutil.rmtree(data)
    if task == "classify":
        _write_classify_split(data, "train", n_train, rng)
        _write_classify_split(data, "val", max(n_train // 10, 30), rng)
        model_yaml = _slim_yaml(work, "yolov8-cls.yaml")
        data_arg = str(data)
        imgsz = 160
    else:
        _write_yolo_split(data, "train", n_train, rng, task)
        _write_yolo_split(data, "val", max(n_train // 10, 30), rng, task)
        names = ["arrow"] if task == "pose" else list(SHAPE_CLASSES)
        cfg = {"path": str(data), "train": "images/train", "val": "images/val", "names": dict(enumerate(names))}
        if task == "pose":
            cfg |= {"kpt_shape": [3, 3], "flip_idx": [0, 2, 1], "kpt_names": {0: list(ARROW_KEYPOINTS)}}
        (data / "data.yaml").write_text(json.dumps(cfg))
        base = {"detect": "yolov8.yaml", "segment": "yolov8-seg.yaml", "pose": "yolov8-pose.yaml"}[task]
        model_yaml = _slim_yaml(work, base, "kpt_shape: [3, 3]" if task == "pose" else "", scale)
        data_arg = str(data / "data.yaml")
        imgsz = train_imgsz or IMGSZ
    # ``init``: go on from earlier weights (e.g. fine-tune at a larger size) instead of from scratch.
    model = YOLO(str(init), task=task) if init is not None else YOLO(str(model_yaml), task=task)
    # Classification: the default crops (down to half the image) and erasing can cut the one
    # shape out of the picture, which stalled learning on this data.
    extra = {"auto_augment": None, "erasing": 0.0, "scale": 0.2} if task == "classify" else {}
    t0 = time.time()
    model.train(
        data=data_arg,
        epochs=epochs,
        imgsz=imgsz,
        batch=16,
        workers=2,
        seed=seed,
        deterministic=True,
        project=str(work / "runs"),
        name=f"{task}-{scale}-{imgsz}",
        exist_ok=True,
        plots=False,
        val=False,
        cache="ram",
        device="cpu",
        amp=False,
        patience=0,
        warmup_epochs=1,
        close_mosaic=max(2, epochs // 4),
        **extra,
        verbose=False,
    )
    print(f"[{task}] trained in {time.time() - t0:.0f} s", flush=True)
    weights = work / "runs" / f"{task}-{scale}-{imgsz}" / "weights" / "last.pt"
    fixture = scale == "t"
    size = export_imgsz or imgsz
    dst = MODELS_DIR / f"shapes-{task}.onnx" if fixture else BENCH_DIR / f"shapes-{task}-{scale}-{size}.onnx"
    _export_onnx(weights, dst, size)
    if fixture and task != "classify":
        _golden(task, dst)
    print(f"[{task}] wrote {dst} ({dst.stat().st_size / 1e6:.1f} MB)", flush=True)


TASKS: dict[str, Callable[[Path, int, bool], None]] = {}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="detect,segment,pose,classify,multilabel,semantic")
    ap.add_argument("--work", type=Path, default=Path("/tmp/edge-fixtures"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny datasets and 1 epoch, to smoke-test the tool")
    ap.add_argument("--images", type=int, help="training images per task (default: the plan below)")
    ap.add_argument("--epochs", type=int, help="epochs per task (default: the plan below)")
    ap.add_argument("--scale", choices=sorted(SCALES), default="t", help="t: the test fixtures; n: benchmark models")
    ap.add_argument("--export-imgsz", type=int, help="input size of the exported ONNX (default: the training size)")
    ap.add_argument("--train-imgsz", type=int, help=f"training image size (default {IMGSZ})")
    ap.add_argument("--init", type=Path, help="start from these weights (.pt) instead of from scratch")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    plan = {  # task: (training images, epochs)
        "detect": (1200, 25),
        "segment": (1200, 25),
        "pose": (1500, 50),  # keypoints need a longer schedule than boxes to land within 0.1 x diagonal
        "classify": (3000, 30),
    }
    for task in args.tasks.split(","):
        if task in plan:
            n, epochs = (40, 1) if args.quick else plan[task]
            n, epochs = args.images or n, args.epochs or epochs
            train_ultralytics(
                task, args.work, args.seed, n, epochs, args.scale, args.export_imgsz, args.train_imgsz, args.init
            )
        else:
            from tools.train_plain import train_plain

            train_plain(task, args.work, args.seed, args.quick, MODELS_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
