"""What ``edge bench`` is asked to run: its arguments and the options a run is measured with."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge.bench.cases import add_case_arguments

if TYPE_CHECKING:
    from edge.tasks.params import MaskDecodeMode


@dataclass(frozen=True)
class BenchOptions:
    backend: str = "onnxruntime"
    threads: int | None = None
    pipelined: bool = True
    instances: int | None = None
    confidence: float | None = None  # None: InferenceParams' default
    overlap: float | None = None
    mask_decode_mode: MaskDecodeMode = "accurate"  # instance segmentation only (edge.tasks.mask_modes)
    tradeoff_factor: float = 0.0

    def params(self) -> Any:
        from edge.tasks.params import InferenceParams

        d = InferenceParams()
        return InferenceParams(
            confidence=d.confidence if self.confidence is None else self.confidence,
            overlap=d.overlap if self.overlap is None else self.overlap,
            mask_decode_mode=self.mask_decode_mode,
            tradeoff_factor=self.tradeoff_factor,
        )


def options(args: argparse.Namespace) -> BenchOptions:
    from edge.bench.cases import case_thresholds

    confidence, overlap = case_thresholds(args)
    mode: MaskDecodeMode = getattr(args, "mask_decode_mode", None) or "accurate"  # argparse checked the choice
    factor = float(getattr(args, "tradeoff_factor", None) or 0.0)
    return BenchOptions(
        args.backend, args.threads, not args.sequential, args.instances, confidence, overlap, mode, factor
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", action="append", help="model to run (repeat; default: the detect and segment fixtures)")
    p.add_argument("--streams", help="stream counts to run, comma-separated (default 1,4; --crowd: 1)")
    p.add_argument("--frames", type=int, default=300, help="frames per stream and raw iterations (default 300)")
    p.add_argument("--size", default="640x480", help="clip frame size (default 640x480)")
    p.add_argument("--clip", help="a video file to use instead of a generated clip")
    p.add_argument("--cache", help="where generated clips are kept (default: the temp folder)")
    p.add_argument("--backend", default="onnxruntime", help="backend (default onnxruntime)")
    p.add_argument("--json", help="also write the measurements to this JSON file")
    p.add_argument("--imgsz", type=int, help="run the models at this square input size (same weights, more compute)")
    p.add_argument("--threads", type=int, help="ONNX Runtime threads (default: the daemon's thread budget)")
    p.add_argument("--instances", type=int, help="inferences in flight (default: the daemon's thread budget)")
    p.add_argument("--repeat", type=int, default=5, help="raw/pipeline pairs per run; medians reported (default 5)")
    p.add_argument("--sequential", action="store_true", help="run each model's stages on one thread (pipelined: false)")
    p.add_argument("--no-tracking", action="store_true", help="skip the tracker cost (20 and 100 objects)")
    add_case_arguments(p)
