#!/usr/bin/env python3
"""Record Roboflow ``inference_models``' predictions on the shapes fixture models as goldens.

Wraps ``tests/fixtures/models/shapes-{detect,segment,pose}.onnx`` as inference-models
packages (``weights.onnx``, ``class_names.txt``, ``inference_config.json``,
``model_config.json``, ``keypoints_metadata.json`` for pose), loads each with
``AutoModel.from_pretrained(<dir>)``, runs it at confidence 0.4 / IoU 0.3 on the golden
images and writes ``tests/fixtures/golden/inference-models-<task>.json``, which
``tests/tasks/test_golden_inference_models.py`` compares edge (on the same packages) with.

Not run in CI (it needs torch). Recorded once in its own venv:

    python3 -m venv /tmp/imvenv
    /tmp/imvenv/bin/pip install torch==2.14.1 torchvision==0.29.1   # from this machine's disk
    /tmp/imvenv/bin/pip install inference-models==0.39.5 onnxruntime
    /tmp/imvenv/bin/python tools/record_inference_models_goldens.py

The package builder (:func:`write_package`) needs only the standard library and onnx, so the
test builds the same packages.
"""

from __future__ import annotations

import ast
import base64
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "fixtures" / "models"
GOLDEN = ROOT / "tests" / "fixtures" / "golden"
TASKS = {"detect": "object-detection", "segment": "instance-segmentation", "pose": "keypoint-detection"}
CONFIDENCE, IOU = 0.4, 0.3


def _metadata(onnx_path: Path) -> dict[str, str]:
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def write_package(task: str, dest: Path) -> Path:
    """An inference-models package of ``shapes-<task>.onnx`` in ``dest`` (made afresh)."""
    src = MODELS / f"shapes-{task}.onnx"
    meta = _metadata(src)
    names: dict[int, str] = ast.literal_eval(meta["names"])
    h, w = ast.literal_eval(meta["imgsz"])
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copyfile(src, dest / "weights.onnx")
    (dest / "class_names.txt").write_text("".join(f"{names[i]}\n" for i in range(len(names))))
    config = {
        "image_pre_processing": {},
        "network_input": {
            "training_input_size": {"height": h, "width": w},
            "dynamic_spatial_size_supported": False,
            "color_mode": "rgb",
            "resize_mode": "letterbox",
            "padding_value": 114,
            "input_channels": 3,
            "scaling_factor": 255,
            "normalization": None,
        },
        "forward_pass": {"static_batch_size": 1},
        "post_processing": {"type": "nms", "fused": False},
    }
    (dest / "inference_config.json").write_text(json.dumps(config, indent=1))
    model_config = {"model_architecture": "yolov8", "task_type": TASKS[task], "backend_type": "onnx"}
    (dest / "model_config.json").write_text(json.dumps(model_config, indent=1))
    if task == "pose":
        kpt_names: dict[str, list[str]] = ast.literal_eval(meta["kpt_names"])
        entries = [
            {"object_class_id": int(c), "keypoints": {str(j): n for j, n in enumerate(kn)}, "edges": []}
            for c, kn in kpt_names.items()
        ]
        (dest / "keypoints_metadata.json").write_text(json.dumps(entries, indent=1))
    return dest


def _images() -> list[Path]:
    return sorted((GOLDEN / "images").glob("*.png"))


def _record(task: str, work: Path) -> dict[str, Any]:
    import cv2
    import numpy as np
    from inference_models import AutoModel

    package = write_package(task, work / f"shapes-{task}")
    model = AutoModel.from_pretrained(str(package))
    records = []
    for path in _images():
        image = cv2.imread(str(path))
        out = model(image, input_color_format="bgr", confidence=CONFIDENCE, iou_threshold=IOU)
        kp = None
        if task == "pose":
            kps, dets = out
            kp, det = kps[0], dets[0]
        else:
            det = out[0]
        rec: dict[str, Any] = {
            "image": str(path.relative_to(GOLDEN)),
            "xyxy": det.xyxy.cpu().numpy().astype(float).tolist(),
            "class_id": det.class_id.cpu().numpy().astype(int).tolist(),
            "confidence": det.confidence.cpu().numpy().astype(float).tolist(),
        }
        if task == "segment":
            masks = det.mask.cpu().numpy().astype(np.uint8) * 255
            rec["masks_png"] = [base64.b64encode(cv2.imencode(".png", m)[1].tobytes()).decode() for m in masks]
        if kp is not None:
            xy = kp.xy.cpu().numpy().astype(float)
            conf = kp.confidence.cpu().numpy().astype(float)
            rec["keypoints"] = np.concatenate([xy, conf[..., None]], axis=-1).tolist()
        records.append(rec)
    import inference_models

    version = getattr(inference_models, "__version__", "0.39.5")
    return {
        "task": task,
        "package_of": f"shapes-{task}.onnx",
        "tool": f"inference_models {version}",
        "confidence": CONFIDENCE,
        "overlap": IOU,
        "records": records,
    }


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/im-packages")
    for task in TASKS:
        doc = _record(task, work)
        out = GOLDEN / f"inference-models-{task}.json"
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{out}: {sum(len(r['class_id']) for r in doc['records'])} predictions on {len(doc['records'])} images")


if __name__ == "__main__":
    main()
