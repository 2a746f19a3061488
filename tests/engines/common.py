"""Models, requests and image folders shared by the engine tests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.engines.compile import BuildRequest, plan_build
from edge.engines.errors import BuildCancelled
from edge.engines.key import DeviceInfo, FileHashCache
from edge.engines.options import BuildOptions
from edge.engines.progress import ProgressTracker
from edge.engines.store import EngineStore
from edge.models import load_spec
from tests.helpers import make_onnx, ultralytics_meta

# What the fake tensorrt/pycuda report, so requests planned here match builds made there.
DEVICE = DeviceInfo("10.3.0", "Orin (fake)", (8, 7))


def detect_model(folder: Path, batch: int | str = "batch", name: str = "m", imgsz: int = 64) -> Path:
    """A YOLO-style detection ONNX (3 classes) with a dynamic or fixed batch axis."""
    anchors = sum((imgsz // s) ** 2 for s in (8, 16, 32))
    meta = ultralytics_meta("detect", ["a", "b", "c"], imgsz=imgsz)
    return make_onnx(folder / f"{name}.onnx", [("output0", (batch, 7, anchors))], meta, (batch, 3, imgsz, imgsz))


def request(folder: Path, model: Path | None = None, store: EngineStore | None = None, **options: Any) -> BuildRequest:
    spec = load_spec(model or detect_model(folder))
    store = store or EngineStore(folder / "engines")
    return plan_build(spec, BuildOptions(**options), DEVICE, store, hashes=FileHashCache())


def image_folder(folder: Path, count: int, size: tuple[int, int] = (80, 60)) -> Path:
    """``count`` distinct PNG images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(count)
    for i in range(count):
        cv2.imwrite(str(folder / f"img{i:03d}.png"), rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    return folder


class FakeBuilder:
    """A build function without TensorRT: reports progress, can fail, or wait for ``gate``
    (honouring cancellation the way TensorRT does, through the progress tracker)."""

    def __init__(self, error: Exception | None = None, gate: threading.Event | None = None) -> None:
        self.error = error
        self.gate = gate
        self.calls: list[str] = []
        self.started = threading.Event()

    def __call__(self, req: BuildRequest, tracker: ProgressTracker) -> bytes:
        self.calls.append(req.digest)
        tracker.phase_start("Building engine", None, 2)
        self.started.set()
        tracker.step("Building engine", 0)
        while self.gate is not None and not self.gate.wait(0.005):
            if not tracker.step("Building engine", 0):
                raise BuildCancelled(f"{req.model}: cancelled")
        tracker.step("Building engine", 1)
        tracker.phase_finish("Building engine")
        if self.error is not None:
            raise self.error
        return b"engine:" + req.digest.encode()
