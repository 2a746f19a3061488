"""The benchmark's named cases: the crowded scene (``--crowd``), the large-object crowd
(``--crowd-large``) and several models (``--multi``).

``--crowd`` and ``--multi`` use files ``tools/make_crowd_benchmark.py`` makes (not committed:
see benchmarks/README.md): a 1280x720 H.264 clip with about 60 small instances a frame, and
yolov8n-size detection and instance-segmentation models at 640x640 input that report that
many. ``--crowd-large`` uses those of ``tools/make_large_crowd.py``: a textured 1280x720 clip
on which yolov8n-seg-shaped models report about 70 instances a few hundred pixels across, at
confidence 0.25 / overlap 0.7, with outlines of hundreds of vertices (issue 18).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edge.errors import EdgeError

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
CROWD_CLIP = "crowd-720p.mp4"
CROWD_SEGMENT = "models/crowd-segment-n-640.onnx"
CROWD_DETECT = "models/crowd-detect-n-640.onnx"
LARGE_CLIP = "large-crowd-720p.mp4"
LARGE_SEGMENT = "models/large-crowd-segment-640.onnx"
LARGE_DETECT = "models/large-crowd-detect-640.onnx"
LARGE_THRESHOLDS = (0.25, 0.7)  # confidence, overlap: what people set for crowds (issue 18)


def _case_files(folder: Path | None, names: tuple[str, str, str], what: str, make: str) -> tuple[Path, Path, Path]:
    """(segment model, detect model, clip) under ``folder``, or one error naming what is missing."""
    root = folder or BENCH_DIR
    paths = (root / names[0], root / names[1], root / names[2])
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EdgeError(f"{what} files missing ({', '.join(missing)}); make them with: {make}")
    return paths


def crowd_files(folder: Path | None = None) -> tuple[Path, Path, Path]:
    """(segment model, detect model, clip) of the crowd benchmark under ``folder``."""
    return _case_files(
        folder,
        (CROWD_SEGMENT, CROWD_DETECT, CROWD_CLIP),
        "crowd benchmark",
        "pip install -e '.[tools]' && python tools/make_crowd_benchmark.py",
    )


def large_crowd_files(folder: Path | None = None) -> tuple[Path, Path, Path]:
    """(segment model, detect model, clip) of the large-object crowd case under ``folder``."""
    return _case_files(
        folder,
        (LARGE_SEGMENT, LARGE_DETECT, LARGE_CLIP),
        "large-object crowd",
        "python tools/make_large_crowd.py (about two minutes, no torch needed)",
    )


def case_thresholds(args: argparse.Namespace) -> tuple[float | None, float | None]:
    """(confidence, overlap) for the run: --confidence/--overlap, else the case's, else None."""
    case = LARGE_THRESHOLDS if getattr(args, "crowd_large", False) else (None, None)
    conf = getattr(args, "confidence", None)
    overlap = getattr(args, "overlap", None)
    return (case[0] if conf is None else conf, case[1] if overlap is None else overlap)


def multi_main(args: argparse.Namespace, machine: str) -> int:
    """Two models on two live streams: the default thread budget against each ``threads:`` setting."""
    from edge.backends.threads import usable_cores
    from edge.bench.multi import format_multi, multi_json, run_multi

    if args.model and len(args.model) != 2:
        raise EdgeError("--multi takes two --model: detection first, then instance segmentation")
    segment, detect, clip = (None, None, None) if args.model and args.clip else crowd_files(_folder(args))
    if args.model:
        detect, segment = Path(args.model[0]), Path(args.model[1])
    if args.clip:
        clip = Path(args.clip)
    assert detect is not None and segment is not None and clip is not None
    cores = usable_cores()
    settings = sorted({int(t) for t in args.multi_threads.split(",")} if args.multi_threads else {1, cores})
    if any(t < 1 for t in settings):
        raise EdgeError(f"--multi-threads: every count must be >= 1, got {args.multi_threads}")
    report = run_multi(detect, segment, clip, settings, max(1, args.repeat), args.warmup, args.duration)
    print(format_multi(report, machine))
    if args.json:
        Path(args.json).write_text(json.dumps(multi_json(report), indent=2))
    return 0


def _folder(args: argparse.Namespace) -> Path | None:
    return Path(args.crowd_dir) if args.crowd_dir else None


def crowd_inputs(args: argparse.Namespace) -> tuple[list[Path], Path]:
    """``--crowd`` / ``--crowd-large``: the models (segmentation, then detection, unless
    --model) and the clip."""
    files = large_crowd_files if getattr(args, "crowd_large", False) else crowd_files
    segment, detect, clip = files(_folder(args))
    models = [Path(m) for m in args.model] if args.model else [segment, detect]
    return models, Path(args.clip) if args.clip else clip


def add_case_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--crowd",
        action="store_true",
        help="the crowded-scene case: 1280x720 H.264, ~60 instances a frame, yolov8n-size models (one stream)",
    )
    p.add_argument(
        "--crowd-large",
        action="store_true",
        help="the large-object crowd case: 1280x720 H.264, ~70 instances of ~230x200 px a frame at"
        " confidence 0.25 / overlap 0.7, yolov8n-seg-shaped models (tools/make_large_crowd.py; one stream)",
    )
    p.add_argument("--confidence", type=float, help="confidence threshold (default 0.4; --crowd-large: 0.25)")
    p.add_argument("--overlap", type=float, help="NMS overlap (default 0.3; --crowd-large: 0.7)")
    p.add_argument(
        "--mask-decode-mode",
        choices=("accurate", "fast", "tradeoff"),
        help="instance segmentation's mask decode mode (default accurate; docs/daemon.md, mask decode modes)",
    )
    p.add_argument("--tradeoff-factor", type=float, help="with --mask-decode-mode tradeoff: 0-1 (default 0)")
    p.add_argument(
        "--multi",
        action="store_true",
        help="two models on two live streams: the default thread budget against each --multi-threads setting",
    )
    p.add_argument("--crowd-dir", help=f"where the crowd clip and models are (default {BENCH_DIR})")
    p.add_argument("--multi-threads", help="--multi: threads: settings to compare, comma-separated (default 1,cores)")
    p.add_argument("--duration", type=float, default=20.0, help="--multi: seconds counted per setting (default 20)")
    p.add_argument("--warmup", type=float, default=4.0, help="--multi: seconds before counting starts (default 4)")
