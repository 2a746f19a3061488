"""Request parameters shared by the decoders, with the hosted API's scale rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

from edge.errors import EdgeError

MaskDecodeMode = Literal["accurate", "fast", "tradeoff"]
MaskFormat = Literal["polygon", "rle"]
MASK_DECODE_MODES: tuple[str, ...] = get_args(MaskDecodeMode)
MASK_FORMATS: tuple[str, ...] = get_args(MaskFormat)


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
    """Thresholds as fractions. Defaults are the hosted v1 route's.

    The mask options apply to instance segmentation only (other tasks ignore them, as the
    hosted API does): ``mask_decode_mode`` picks the resolution masks are decoded at
    (:mod:`edge.tasks.mask_modes`), ``tradeoff_factor`` places ``tradeoff`` between the
    prototypes' (0) and the network input's (1) resolution, ``response_mask_format`` says
    whether v1 items carry ``points`` or a COCO ``rle``.
    """

    confidence: float = 0.4
    overlap: float = 0.3
    max_detections: int = 300
    keypoint_confidence: float = 0.0
    mask_decode_mode: MaskDecodeMode = "accurate"
    tradeoff_factor: float = 0.0
    response_mask_format: MaskFormat = "polygon"

    def __post_init__(self) -> None:
        for name in ("confidence", "overlap", "keypoint_confidence"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise EdgeError(f"{name} must be within 0..1, got {v}")
        if self.max_detections < 0:
            raise EdgeError(f"max_detections must be >= 0, got {self.max_detections}")
        if self.mask_decode_mode not in MASK_DECODE_MODES:
            raise EdgeError(
                f"mask_decode_mode must be one of {', '.join(MASK_DECODE_MODES)}, got {self.mask_decode_mode!r}"
            )
        if not 0.0 <= self.tradeoff_factor <= 1.0:
            raise EdgeError(
                f"tradeoff_factor must be within 0..1 (0: prototypes, 1: input size), got {self.tradeoff_factor}"
            )
        if self.response_mask_format not in MASK_FORMATS:
            raise EdgeError(
                f"response_mask_format must be one of {', '.join(MASK_FORMATS)}, got {self.response_mask_format!r}"
            )

    @classmethod
    def from_hosted(
        cls,
        confidence: float = 0.4,
        overlap: float = 0.3,
        max_detections: int = 300,
        keypoint_confidence: float = 0.0,
        mask_decode_mode: str = "accurate",
        tradeoff_factor: float = 0.0,
        response_mask_format: str = "polygon",
    ) -> InferenceParams:
        """From values as the hosted API takes them (fractions or percentages; the mask
        options as they are)."""
        return cls(
            # The hosted API raises confidence below 1% to 1% to bound its output size.
            confidence=max(hosted_fraction(confidence, "confidence"), 0.01),
            overlap=hosted_fraction(overlap, "overlap"),
            max_detections=max_detections,
            keypoint_confidence=hosted_fraction(keypoint_confidence, "keypoint_confidence"),
            # Checked against the literals in __post_init__: the casts only tell mypy so.
            mask_decode_mode=cast(MaskDecodeMode, mask_decode_mode),
            tradeoff_factor=tradeoff_factor,
            response_mask_format=cast(MaskFormat, response_mask_format),
        )
