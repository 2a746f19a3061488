"""Classification, single-label and multi-label, and their two v1 JSON shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.tasks.v1 import ImageSize, class_names_from_v1, envelope


@dataclass(frozen=True)
class Classification:
    """Per-class probabilities ``confidence`` (C,) for one image.

    Single-label lists the classes at or above ``threshold``, best first; multi-label lists
    every class and names those at or above ``threshold`` in ``predicted_classes``.
    """

    confidence: npt.NDArray[np.float32]
    class_names: tuple[str, ...]
    image: ImageSize
    multi_label: bool = False
    threshold: float = 0.4

    def __post_init__(self) -> None:
        if self.confidence.shape != (len(self.class_names),):
            raise EdgeError(f"confidence must have shape ({len(self.class_names)},), got {self.confidence.shape}")

    @property
    def predicted(self) -> npt.NDArray[np.int64]:
        """Class ids at or above the threshold: best first (single-label) or by id (multi-label)."""
        ids = np.flatnonzero(self.confidence >= self.threshold)
        if self.multi_label:
            return ids.astype(np.int64)
        return ids[np.argsort(-self.confidence[ids], kind="stable")].astype(np.int64)

    def to_v1(self, inference_id: str | None = None, time: float | None = None) -> dict[str, Any]:
        doc = envelope(self.image, inference_id, time)
        ids = self.predicted.tolist()
        if self.multi_label:
            doc["predictions"] = {
                name: {"confidence": float(c), "class_id": i}
                for i, (name, c) in enumerate(zip(self.class_names, self.confidence.tolist()))
            }
            doc["predicted_classes"] = [self.class_names[i] for i in ids]
            return doc
        preds = [
            {"class": self.class_names[i], "class_id": i, "confidence": round(float(self.confidence[i]), 4)}
            for i in ids
        ]
        doc["predictions"] = preds
        doc["top"] = preds[0]["class"] if preds else ""
        doc["confidence"] = preds[0]["confidence"] if preds else 0.0
        return doc

    @classmethod
    def from_v1(
        cls, doc: Mapping[str, Any], class_names: tuple[str, ...] | None = None, threshold: float = 0.4
    ) -> Classification:
        preds = doc.get("predictions")
        if isinstance(preds, Mapping):  # multi-label: a dict of every class
            pairs = [(int(v["class_id"]), str(k)) for k, v in preds.items()]
            names = class_names_from_v1(pairs, class_names)
            conf = np.zeros(len(names), dtype=np.float32)
            for v in preds.values():
                conf[int(v["class_id"])] = v["confidence"]
            return cls(conf, names, ImageSize.from_v1(doc), multi_label=True, threshold=threshold)
        if not isinstance(preds, list):
            raise EdgeError("v1 classification response must have 'predictions' as a list or an object")
        names = class_names_from_v1([(int(p["class_id"]), str(p["class"])) for p in preds], class_names)
        conf = np.zeros(len(names), dtype=np.float32)  # classes the server left out were below threshold
        for p in preds:
            conf[int(p["class_id"])] = p["confidence"]
        return cls(conf, names, ImageSize.from_v1(doc), multi_label=False, threshold=threshold)


def _softmax(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float32)


def to_probabilities(
    scores: npt.NDArray[np.floating], multi_label: bool, already: bool | None
) -> npt.NDArray[np.float32]:
    """Softmax (single-label) or sigmoid (multi-label) unless the model already applied it.

    ``already`` None means unknown: scores inside [0, 1] (summing to 1 for single-label)
    are taken as probabilities.
    """
    s = np.asarray(scores, dtype=np.float32)
    if already is None:
        in_range = bool(np.all((s >= 0) & (s <= 1)))
        already = in_range if multi_label else in_range and bool(np.allclose(s.sum(axis=-1), 1, atol=1e-3))
    if already:
        return s
    if not multi_label:
        return _softmax(s)
    return np.asarray(1.0 / (1.0 + np.exp(-s)), dtype=np.float32)


def decode_classification(
    scores: npt.NDArray[np.floating],
    image: ImageSize,
    class_names: tuple[str, ...],
    multi_label: bool,
    outputs_probabilities: bool | None,
    threshold: float,
) -> Classification:
    probs = to_probabilities(scores, multi_label, outputs_probabilities)
    return Classification(probs, class_names, image, multi_label=multi_label, threshold=threshold)
