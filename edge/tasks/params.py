"""Request parameters shared by the decoders, with the hosted API's scale rules."""

from __future__ import annotations

from dataclasses import dataclass

from edge.errors import EdgeError


def hosted_fraction(value: float, name: str) -> float:
    """Apply the hosted API's rule: values >= 1 are percentages (40 means 0.4)."""
    if value < 0:
        raise EdgeError(f"{name} must be >= 0, got {value}")
    v = value / 100.0 if value >= 1 else value
    if v > 1:
        raise EdgeError(f"{name} must be a fraction 0..1 or a percentage 1..100, got {value}")
    return v


@dataclass(frozen=True)
class InferenceParams:
    """Thresholds as fractions. Defaults are the hosted v1 route's."""

    confidence: float = 0.4
    overlap: float = 0.3
    max_detections: int = 300
    keypoint_confidence: float = 0.0

    def __post_init__(self) -> None:
        for name in ("confidence", "overlap", "keypoint_confidence"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise EdgeError(f"{name} must be within 0..1, got {v}")
        if self.max_detections < 0:
            raise EdgeError(f"max_detections must be >= 0, got {self.max_detections}")

    @classmethod
    def from_hosted(
        cls,
        confidence: float = 0.4,
        overlap: float = 0.3,
        max_detections: int = 300,
        keypoint_confidence: float = 0.0,
    ) -> InferenceParams:
        """From values as the hosted API takes them (fractions or percentages)."""
        return cls(
            # The hosted API raises confidence below 1% to 1% to bound its output size.
            confidence=max(hosted_fraction(confidence, "confidence"), 0.01),
            overlap=hosted_fraction(overlap, "overlap"),
            max_detections=max_detections,
            keypoint_confidence=hosted_fraction(keypoint_confidence, "keypoint_confidence"),
        )
