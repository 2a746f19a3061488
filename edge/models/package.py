"""Model contract from a Roboflow model package directory.

Layouts read (see ``shared/specs/model-packages.md``):

* protocol A: ``weights.onnx``, ``environment.json`` (``PREPROCESSING``, ``CLASS_MAP``,
  ``MULTICLASS``), ``class_names.txt``, ``keypoints_metadata.json``, ``model_type.json``;
* protocol B: ``weights.onnx``, ``inference_config.json``, ``class_names.txt``,
  ``keypoints_metadata.json``, ``model_config.json``.

Preprocessing steps this runtime does not implement yet (static crop, contrast, grayscale)
are refused with a clear error rather than silently skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edge.errors import ModelError
from edge.models.onnx_file import OnnxInfo, read_onnx
from edge.models.spec import KeypointSpec, MaskStyle, ModelSpec, Task
from edge.preprocess import PreprocessConfig, ResizeMode

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Protocol A's dataset resize formats -> (mode, pad value). Unsupported formats fall back to
# black letterbox, as the legacy server does.
_LEGACY_RESIZE = {
    "Stretch to": (ResizeMode.STRETCH, 0),
    "Fit (black edges) in": (ResizeMode.LETTERBOX, 0),
    "Fit (white edges) in": (ResizeMode.LETTERBOX, 255),
    "Fit (grey edges) in": (ResizeMode.LETTERBOX, 114),
}
_B_RESIZE = {
    "stretch": ResizeMode.STRETCH,
    "letterbox": ResizeMode.LETTERBOX,
    "letterbox-reflect-edges": ResizeMode.LETTERBOX,
    "center-crop": ResizeMode.CENTER_CROP,
    "fit-longer-edge": ResizeMode.LETTERBOX,
}


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


def _weights(root: Path) -> Path:
    for name in ("weights.onnx", "best.onnx", "model.onnx"):
        if (root / name).is_file():
            return root / name
    found = sorted(root.glob("*.onnx"))
    if len(found) == 1:
        return found[0]
    raise ModelError(f"{root}: a model package needs one weights.onnx, found {len(found)} .onnx files")


def _class_names(root: Path, env: dict[str, Any]) -> tuple[str, ...]:
    txt = root / "class_names.txt"
    if txt.is_file():
        names = tuple(line.strip() for line in txt.read_text().splitlines() if line.strip())
        if not names:
            raise ModelError(f"{txt} is empty; it must list one class name per line")
        return names
    cmap = env.get("CLASS_MAP")
    if isinstance(cmap, dict) and cmap:
        try:
            return tuple(str(cmap[str(i)]) for i in range(len(cmap)))  # numeric, not lexicographic, order
        except KeyError:
            raise ModelError(f"{root}/environment.json: CLASS_MAP keys must be 0..{len(cmap) - 1}") from None
    raise ModelError(f"{root}: no class_names.txt and no CLASS_MAP in environment.json")


def _task(root: Path, info: OnnxInfo) -> tuple[Task, bool]:
    """The task and whether it is multi-label classification."""
    for fname, key in (("model_config.json", "task_type"), ("model_type.json", "project_task_type")):
        f = root / fname
        if f.is_file():
            value = str(_json(f).get(key, ""))
            if value:
                return Task.from_value(value), value == "multi-label-classification"
    if "task" in info.metadata:
        return Task.from_value(info.metadata["task"]), False
    raise ModelError(f"{root}: cannot tell the model's task; add model_type.json with 'project_task_type'")


def _refuse_unsupported(steps: dict[str, Any], where: Path) -> None:
    for step in ("static-crop", "contrast", "grayscale"):
        cfg = steps.get(step)
        if isinstance(cfg, dict) and cfg.get("enabled"):
            raise ModelError(f"{where}: preprocessing step '{step}' is not supported yet; disable it to run locally")


def _triple(values: Any, where: Path) -> tuple[float, float, float]:
    try:
        a, b, c = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ModelError(f"{where}: normalization must be [[3 means], [3 stds]], got {values!r}") from None
    return a, b, c


def _input_size(info: OnnxInfo, fallback: tuple[int, int] | None) -> tuple[int, int]:
    shape = info.inputs[0].shape if info.inputs else ()
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int) and shape[2] > 0:
        return shape[3], shape[2]
    return fallback or (640, 640)


def _preprocess_b(cfg: dict[str, Any], info: OnnxInfo, where: Path) -> PreprocessConfig:
    _refuse_unsupported(cfg.get("image_pre_processing") or {}, where)
    net = cfg.get("network_input") or {}
    size = net.get("training_input_size") or {}
    fallback = (int(size["width"]), int(size["height"])) if size else None
    width, height = _input_size(info, fallback)
    mode_name = net.get("resize_mode", "stretch")
    if mode_name not in _B_RESIZE:
        raise ModelError(f"{where}: resize_mode {mode_name!r} is not supported; use one of {', '.join(_B_RESIZE)}")
    norm = net.get("normalization")
    mean = std = None
    if norm:
        mean, std = _triple(norm[0], where), _triple(norm[1], where)
    return PreprocessConfig(
        width,
        height,
        _B_RESIZE[mode_name],
        int(net.get("padding_value") or 0),
        rgb=net.get("color_mode", "rgb") == "rgb",
        scaling=float(net.get("scaling_factor") or 1.0),
        mean=mean,
        std=std,
    )


def _preprocess_a(env: dict[str, Any], info: OnnxInfo, task: Task, model_type: str, where: Path) -> PreprocessConfig:
    raw = env.get("PREPROCESSING")
    if raw is None:
        raise ModelError(f"{where}: environment.json has no PREPROCESSING")
    pre = json.loads(raw) if isinstance(raw, str) else raw
    _refuse_unsupported(pre, where)
    resize = pre.get("resize") or {}
    fallback = (int(resize["width"]), int(resize["height"])) if "width" in resize else None
    width, height = _input_size(info, fallback)
    mode, pad = _LEGACY_RESIZE.get(resize.get("format", "Stretch to"), (ResizeMode.LETTERBOX, 0))
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    if task is Task.CLASSIFICATION:
        imagenet = any(k in model_type for k in ("resnet", "dinov3"))
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if imagenet else ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    elif task is Task.SEMANTIC_SEGMENTATION:
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    return PreprocessConfig(width, height, mode, pad, mean=mean, std=std)


def _keypoints(root: Path, n_classes: int) -> tuple[KeypointSpec, ...]:
    f = root / "keypoints_metadata.json"
    if not f.is_file():
        raise ModelError(f"{root}: a keypoint model package needs keypoints_metadata.json")
    by_class: dict[int, KeypointSpec] = {}
    for entry in _json(f):
        kp = entry["keypoints"]
        names = tuple(str(kp[k]) for k in sorted(kp, key=int))
        edges = tuple((int(e["from"]), int(e["to"])) for e in entry.get("edges", []))
        by_class[int(entry["object_class_id"])] = KeypointSpec(names, edges)
    missing = [c for c in range(n_classes) if c not in by_class]
    if missing:
        raise ModelError(f"{f}: no keypoints for class ids {missing}")
    return tuple(by_class[c] for c in range(n_classes))


def spec_from_package(root: Path) -> ModelSpec:
    info = read_onnx(_weights(root))
    env = _json(root / "environment.json") if (root / "environment.json").is_file() else {}
    task, multi_label = _task(root, info)
    names = _class_names(root, env)
    model_type = ""
    if (root / "model_type.json").is_file():
        model_type = str(_json(root / "model_type.json").get("model_type", "")).lower()
    icfg_path = root / "inference_config.json"
    fused: bool | None = None
    if icfg_path.is_file():
        icfg = _json(icfg_path)
        pre = _preprocess_b(icfg, info, icfg_path)
        post = icfg.get("post_processing") or {}
        fused = bool(post.get("fused")) if post.get("type") in ("softmax", "sigmoid") else None
    elif env:
        pre = _preprocess_a(env, info, task, model_type, root / "environment.json")
        multi_label = multi_label or bool(env.get("MULTICLASS", False))
        # Legacy always softmaxes single-label outputs and reads multi-label outputs as-is.
        fused = multi_label if task is Task.CLASSIFICATION else None
    else:
        raise ModelError(f"{root}: a model package needs inference_config.json or environment.json")
    batch_dim = info.inputs[0].shape[0] if info.inputs and info.inputs[0].shape else 1
    return ModelSpec(
        task=task,
        class_names=names,
        preprocess=pre,
        onnx_path=info.path,
        name=root.name,
        multi_label=multi_label,
        keypoints=_keypoints(root, len(names)) if task is Task.KEYPOINT_DETECTION else (),
        batch=batch_dim if isinstance(batch_dim, int) and batch_dim > 0 else None,
        outputs_probabilities=fused,
        source="roboflow package",
        inputs=info.inputs,
        outputs=info.outputs,
        mask_style=MaskStyle.ROBOFLOW,  # the hosted API builds this package's masks the Roboflow way
    )
