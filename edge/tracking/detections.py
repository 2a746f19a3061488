"""The tracker's input: one frame's detections as validated numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Detections:
    """xyxy (N, 4) pixels, class_id (N,) int, confidence (N,) float; checked on construction."""

    xyxy: npt.NDArray[np.float64]
    class_id: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        # Coerce once here so the hot path never has to re-check dtypes or shapes.
        xyxy = np.asarray(self.xyxy, dtype=np.float64).reshape(-1, 4) if np.size(self.xyxy) else np.zeros((0, 4))
        class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        confidence = np.asarray(self.confidence, dtype=np.float64).reshape(-1)
        n = len(xyxy)
        if len(class_id) != n or len(confidence) != n:
            raise ValueError(f"detections: {n} boxes but {len(class_id)} class ids and {len(confidence)} scores")
        if not np.all(np.isfinite(xyxy)) or not np.all(np.isfinite(confidence)):
            raise ValueError("detections: boxes and scores must be finite")
        if np.any(xyxy[:, 2] < xyxy[:, 0]) or np.any(xyxy[:, 3] < xyxy[:, 1]):
            raise ValueError("detections: each box must have x2 >= x1 and y2 >= y1")
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "confidence", confidence)

    def __len__(self) -> int:
        return len(self.xyxy)

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0))
