"""The model contract: everything the pipeline must know about a model besides its weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from edge.errors import ModelError
from edge.models.onnx_file import TensorInfo
from edge.preprocess import PreprocessConfig


class Task(str, Enum):
    OBJECT_DETECTION = "object-detection"
    INSTANCE_SEGMENTATION = "instance-segmentation"
    KEYPOINT_DETECTION = "keypoint-detection"
    CLASSIFICATION = "classification"
    SEMANTIC_SEGMENTATION = "semantic-segmentation"

    @classmethod
    def from_value(cls, value: str) -> Task:
        """Accept our names, Roboflow's ``taskType`` names and Ultralytics' task names."""
        aliases = {
            "detect": cls.OBJECT_DETECTION,
            "segment": cls.INSTANCE_SEGMENTATION,
            "pose": cls.KEYPOINT_DETECTION,
            "classify": cls.CLASSIFICATION,
            "multi-label-classification": cls.CLASSIFICATION,
            "semantic": cls.SEMANTIC_SEGMENTATION,
        }
        v = value.strip().lower()
        if v in aliases:
            return aliases[v]
        try:
            return cls(v)
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise ModelError(f"unknown task {value!r}; use one of {names}") from None


class MaskStyle(str, Enum):
    """How instance masks are built from prototypes (see edge/tasks/masks.py).

    ``ultralytics`` for Ultralytics exports; ``roboflow`` for Roboflow model packages, as
    Roboflow's own ``inference_models`` (and so the hosted API) builds them.
    """

    ULTRALYTICS = "ultralytics"
    ROBOFLOW = "roboflow"


@dataclass(frozen=True)
class KeypointSpec:
    """Keypoint names of one object class, in output order, and its skeleton edges."""

    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        for a, b in self.edges:
            if not (0 <= a < len(self.names) and 0 <= b < len(self.names)):
                raise ModelError(f"skeleton edge ({a}, {b}) names a keypoint beyond the {len(self.names)} defined")


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and how to feed it.

    ``keypoints[c]`` describes class c's keypoints (keypoint models only). ``batch`` is the
    fixed batch size, or None when the model takes any batch. ``outputs_probabilities`` says
    whether a classifier's output is already softmax/sigmoid (None: decide from the values).
    ``mask_style`` says how instance masks are built (set by the loader from the model's origin).
    """

    task: Task
    class_names: tuple[str, ...]
    preprocess: PreprocessConfig
    onnx_path: Path
    name: str
    multi_label: bool = False
    keypoints: tuple[KeypointSpec, ...] = ()
    batch: int | None = 1
    outputs_probabilities: bool | None = None
    source: str = "onnx metadata"
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()
    mask_style: MaskStyle = MaskStyle.ULTRALYTICS
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.class_names:
            raise ModelError(f"{self.onnx_path}: the model declares no class names")
        if self.task is Task.KEYPOINT_DETECTION and not self.keypoints:
            raise ModelError(f"{self.onnx_path}: a keypoint model needs keypoint names")
        if self.multi_label and self.task is not Task.CLASSIFICATION:
            raise ModelError(f"{self.onnx_path}: multi-label applies to classification only, not {self.task.value}")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_keypoints(self) -> int:
        return max((len(k.names) for k in self.keypoints), default=0)
