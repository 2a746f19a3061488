"""Model contract from the metadata Ultralytics writes into its ONNX exports.

Keys read: ``task``, ``names``, ``imgsz``, ``kpt_shape``, ``kpt_names``. Files made by
``tools/train_fixtures.py`` add ``multi_label``, ``resize_mode`` and ``pad_value`` in the same
style, for the model kinds Ultralytics does not export.
"""

from __future__ import annotations

import ast
from pathlib import Path

from edge.errors import ModelError
from edge.models.onnx_file import OnnxInfo
from edge.models.spec import KeypointSpec, ModelSpec, Task
from edge.preprocess import PreprocessConfig, ResizeMode


def _literal(meta: dict[str, str], key: str, path: Path) -> object:
    try:
        return ast.literal_eval(meta[key])
    except (ValueError, SyntaxError):
        raise ModelError(f"{path}: metadata '{key}' is not a Python literal: {meta[key][:60]!r}") from None


def _class_names(meta: dict[str, str], path: Path) -> tuple[str, ...]:
    names = _literal(meta, "names", path)
    if isinstance(names, dict):
        try:
            ids = sorted(int(k) for k in names)
        except (TypeError, ValueError):
            raise ModelError(f"{path}: metadata 'names' must map class ids to names") from None
        if ids != list(range(len(ids))):
            raise ModelError(f"{path}: metadata 'names' ids must be 0..{len(ids) - 1} without gaps")
        return tuple(str(names[i] if i in names else names[str(i)]) for i in ids)
    if isinstance(names, (list, tuple)):
        return tuple(str(n) for n in names)
    raise ModelError(f"{path}: metadata 'names' must be a dict or list of class names")


def _input_size(meta: dict[str, str], info: OnnxInfo) -> tuple[int, int]:
    """(width, height) from ``imgsz``, else from the input tensor's fixed dims."""
    if "imgsz" in meta:
        size = _literal(meta, "imgsz", info.path)
        if isinstance(size, int):
            return size, size
        if isinstance(size, (list, tuple)) and len(size) == 2:
            return int(size[1]), int(size[0])
    shape = info.inputs[0].shape
    if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int) and shape[2] > 0:
        return shape[3], shape[2]
    raise ModelError(f"{info.path}: cannot tell the input size; add 'imgsz' metadata or export a fixed size")


def _keypoints(meta: dict[str, str], path: Path, num_classes: int) -> tuple[KeypointSpec, ...]:
    kpt_shape = _literal(meta, "kpt_shape", path)
    if not (isinstance(kpt_shape, (list, tuple)) and len(kpt_shape) == 2 and kpt_shape[1] in (2, 3)):
        raise ModelError(f"{path}: metadata 'kpt_shape' must be [K, 2] or [K, 3], got {meta['kpt_shape']!r}")
    k = int(kpt_shape[0])
    per_class: dict[int, list[str]] = {}
    if "kpt_names" in meta:
        raw = _literal(meta, "kpt_names", path)
        if isinstance(raw, dict):
            per_class = {int(c): [str(n) for n in names] for c, names in raw.items()}
    specs = []
    for c in range(num_classes):
        names = per_class.get(c) or [str(i) for i in range(k)]
        if len(names) != k:
            raise ModelError(f"{path}: class {c} has {len(names)} keypoint names but kpt_shape says {k}")
        specs.append(KeypointSpec(tuple(names)))
    return tuple(specs)


def spec_from_ultralytics(info: OnnxInfo) -> ModelSpec:
    meta = info.metadata
    path = info.path
    for key in ("task", "names"):
        if key not in meta:
            raise ModelError(
                f"{path}: ONNX metadata has no '{key}'; export with Ultralytics or use a Roboflow model package"
            )
    task = Task.from_value(meta["task"])
    names = _class_names(meta, path)
    width, height = _input_size(meta, info)
    multi_label = meta.get("multi_label", "False").strip().lower() in ("true", "1", "yes")
    default_mode = ResizeMode.FILL_CROP if task is Task.CLASSIFICATION and not multi_label else ResizeMode.LETTERBOX
    try:
        mode = ResizeMode(meta.get("resize_mode", default_mode.value))
    except ValueError:
        raise ModelError(f"{path}: metadata resize_mode {meta['resize_mode']!r} is not supported") from None
    pre = PreprocessConfig(width, height, mode, int(meta.get("pad_value", "114")))
    batch_dim = info.inputs[0].shape[0] if info.inputs and info.inputs[0].shape else 1
    return ModelSpec(
        task=task,
        class_names=names,
        preprocess=pre,
        onnx_path=path,
        name=path.stem,
        multi_label=multi_label,
        keypoints=_keypoints(meta, path, len(names)) if task is Task.KEYPOINT_DETECTION else (),
        batch=batch_dim if isinstance(batch_dim, int) and batch_dim > 0 else None,
        # Ultralytics classifiers end in softmax; our multi-label export ends in sigmoid.
        outputs_probabilities=True if task is Task.CLASSIFICATION else None,
        source="ultralytics metadata",
        inputs=info.inputs,
        outputs=info.outputs,
    )
