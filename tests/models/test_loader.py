from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.errors import ModelError, OutputShapeError
from edge.models import Task, load_spec
from edge.preprocess import ResizeMode
from tests.helpers import make_onnx, ultralytics_meta

NAMES = ("circle", "square", "triangle")


@pytest.mark.parametrize(
    ("task", "outputs", "expected"),
    [
        ("detect", [("output0", ("batch", 7, "anchors"))], Task.OBJECT_DETECTION),
        ("segment", [("output0", ("batch", 39, 100)), ("output1", ("batch", 32, 16, 16))], Task.INSTANCE_SEGMENTATION),
        ("classify", [("output0", ("batch", 3))], Task.CLASSIFICATION),
        ("semantic", [("output0", ("batch", 3, 64, 64))], Task.SEMANTIC_SEGMENTATION),
    ],
)
def test_ultralytics_metadata_gives_task_and_classes(tmp_path: Path, task: str, outputs, expected: Task) -> None:
    spec = load_spec(make_onnx(tmp_path / "m.onnx", outputs, ultralytics_meta(task, NAMES)))
    assert spec.task is expected
    assert spec.class_names == NAMES
    assert (spec.preprocess.width, spec.preprocess.height) == (64, 64)
    assert spec.batch is None  # symbolic batch dim: any batch size


def test_pose_metadata_gives_keypoint_names(tmp_path: Path) -> None:
    meta = ultralytics_meta("pose", ["arrow"], kpt_shape="[3, 3]", kpt_names="{0: ['tip', 'right', 'left']}")
    path = make_onnx(tmp_path / "m.onnx", [("output0", (1, 4 + 1 + 9, 100))], meta, input_shape=(1, 3, 64, 64))
    spec = load_spec(path)
    assert spec.keypoints[0].names == ("tip", "right", "left")
    assert spec.batch == 1


def test_classify_defaults_to_ultralytics_crop(tmp_path: Path) -> None:
    spec = load_spec(make_onnx(tmp_path / "m.onnx", [("output0", (1, 3))], ultralytics_meta("classify", NAMES)))
    assert spec.preprocess.resize_mode is ResizeMode.FILL_CROP
    assert spec.outputs_probabilities is True


@pytest.mark.parametrize(
    ("task", "outputs", "tensor", "expected_text"),
    [
        ("detect", [("output0", (1, 9, 100))], "output0", "(batch, 7, anchors)"),
        ("detect", [("boxes", (1, 100))], "boxes", "(batch, 7, anchors)"),
        ("classify", [("logits", (1, 5))], "logits", "(batch, 3)"),
        ("segment", [("output0", (1, 40, 100)), ("output1", (1, 32, 16, 16))], "output0", "(batch, 39, anchors)"),
        ("semantic", [("seg", (1, 7, 64, 64))], "seg", "(batch, 3, H, W)"),
    ],
)
def test_outputs_that_do_not_fit_the_task_name_the_tensor(
    tmp_path: Path, task: str, outputs, tensor: str, expected_text: str
) -> None:
    path = make_onnx(tmp_path / "m.onnx", outputs, ultralytics_meta(task, NAMES))
    with pytest.raises(OutputShapeError) as err:
        load_spec(path)
    msg = str(err.value)
    assert f"'{tensor}'" in msg and expected_text in msg and "\n" not in msg
    actual = "(" + ", ".join(str(d) for d in dict(outputs)[tensor]) + ")"
    assert actual in msg


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"names": "{0: 'a'}"}, "no 'task'"),
        ({"task": "detect"}, "no 'names'"),
        ({"task": "juggling", "names": "{0: 'a'}", "imgsz": "[64, 64]"}, "unknown task 'juggling'"),
        ({"task": "detect", "names": "{0: 'a', 2: 'b'}", "imgsz": "[64, 64]"}, "without gaps"),
        ({"task": "detect", "names": "not python", "imgsz": "[64, 64]"}, "not a Python literal"),
    ],
)
def test_bad_metadata_is_one_clear_line(tmp_path: Path, meta: dict[str, str], message: str) -> None:
    path = make_onnx(tmp_path / "m.onnx", [("output0", (1, 5, 10))], meta)
    with pytest.raises(ModelError, match=message):
        load_spec(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), (b"", "not a readable ONNX"), (b"\x08\x01garbage" * 10, "not a readable ONNX")],
)
def test_missing_or_corrupt_model_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "m.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        load_spec(path)


def _package(tmp_path: Path, outputs, files: dict[str, object]) -> Path:
    make_onnx(tmp_path / "weights.onnx", outputs, input_shape=(1, 3, 96, 128))
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_protocol_b_package(tmp_path: Path) -> None:
    icfg = {
        "network_input": {
            "training_input_size": {"height": 96, "width": 128},
            "resize_mode": "letterbox",
            "padding_value": 127,
            "color_mode": "bgr",
            "scaling_factor": 255,
            "normalization": [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]],
        },
        "post_processing": {"type": "nms", "fused": False},
    }
    root = _package(
        tmp_path,
        [("out", (1, 6, 50))],
        {
            "class_names.txt": "forklift\n\nperson\n",
            "inference_config.json": icfg,
            "model_config.json": {"task_type": "object-detection"},
        },
    )
    spec = load_spec(root)
    assert spec.task is Task.OBJECT_DETECTION and spec.class_names == ("forklift", "person")
    pre = spec.preprocess
    assert (pre.width, pre.height, pre.resize_mode, pre.pad_value, pre.rgb) == (
        128,
        96,
        ResizeMode.LETTERBOX,
        127,
        False,
    )
    assert pre.mean == (0.485, 0.456, 0.406) and spec.source == "roboflow package"


def test_protocol_a_package_with_class_map_and_keypoints(tmp_path: Path) -> None:
    env = {
        "PREPROCESSING": json.dumps({"resize": {"width": 128, "height": 96, "format": "Fit (grey edges) in"}}),
        "CLASS_MAP": {str(i): f"c{i}" for i in range(11)},  # numeric order, not "0, 1, 10, 2"
    }
    kpts = [
        {"object_class_id": c, "keypoints": {"1": "b", "0": "a"}, "edges": [{"from": 0, "to": 1}]} for c in range(11)
    ]
    root = _package(
        tmp_path,
        [("out", (1, 4 + 11 + 6, 50))],
        {
            "environment.json": env,
            "keypoints_metadata.json": kpts,
            "model_type.json": {"project_task_type": "keypoint-detection", "model_type": "yolov8n-pose"},
        },
    )
    spec = load_spec(root)
    assert spec.class_names[10] == "c10" and spec.class_names[2] == "c2"
    assert spec.keypoints[0].names == ("a", "b") and spec.keypoints[0].edges == ((0, 1),)
    assert (spec.preprocess.resize_mode, spec.preprocess.pad_value) == (ResizeMode.LETTERBOX, 114)


def test_multilabel_package_from_environment(tmp_path: Path) -> None:
    env = {"PREPROCESSING": "{}", "MULTICLASS": True}
    root = _package(
        tmp_path,
        [("out", (1, 2))],
        {
            "environment.json": env,
            "class_names.txt": "helmet\nvest\n",
            "model_type.json": {"project_task_type": "classification"},
        },
    )
    spec = load_spec(root)
    assert spec.multi_label and spec.outputs_probabilities is True
    assert spec.preprocess.resize_mode is ResizeMode.STRETCH  # the legacy default


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"class_names.txt": "a\n", "model_type.json": {"project_task_type": "object-detection"}},
            "needs inference_config.json or environment.json",
        ),
        ({"class_names.txt": "a\n", "environment.json": {"PREPROCESSING": "{}"}}, "cannot tell the model's task"),
        (
            {
                "class_names.txt": "a\n",
                "model_type.json": {"project_task_type": "object-detection"},
                "environment.json": {"PREPROCESSING": json.dumps({"contrast": {"enabled": True}})},
            },
            "'contrast' is not supported",
        ),
        (
            {
                "class_names.txt": "\n\n",
                "environment.json": {"PREPROCESSING": "{}"},
                "model_type.json": {"project_task_type": "object-detection"},
            },
            "is empty",
        ),
        ({"class_names.txt": "a\n", "environment.json": "{not json"}, "invalid JSON at line 1"),
    ],
)
def test_bad_packages_are_one_clear_line(tmp_path: Path, files: dict[str, object], message: str) -> None:
    root = _package(tmp_path, [("out", (1, 5, 50))], files)
    with pytest.raises(ModelError, match=message):
        load_spec(root)
