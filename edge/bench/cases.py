"""The benchmark's named cases: the crowded scene (``--crowd``) and several models (``--multi``).

Both use files ``tools/make_crowd_benchmark.py`` makes (not committed: see benchmarks/README.md):
a 1280x720 H.264 clip with about 60 instances a frame, and yolov8n-size detection and
instance-segmentation models at 640x640 input that report that many.
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


def crowd_files(folder: Path | None = None) -> tuple[Path, Path, Path]:
    """(segment model, detect model, clip) of the crowd benchmark under ``folder``."""
    root = folder or BENCH_DIR
    paths = (root / CROWD_SEGMENT, root / CROWD_DETECT, root / CROWD_CLIP)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EdgeError(
            f"crowd benchmark files missing ({', '.join(missing)}); make them with:"
            " pip install -e '.[tools]' && python tools/make_crowd_benchmark.py"
        )
    return paths


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
    """``--crowd``: the models (segmentation, then detection, unless --model) and the clip."""
    segment, detect, clip = crowd_files(_folder(args))
    models = [Path(m) for m in args.model] if args.model else [segment, detect]
    return models, Path(args.clip) if args.clip else clip


def add_case_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--crowd",
        action="store_true",
        help="the crowded-scene case: 1280x720 H.264, ~60 instances a frame, yolov8n-size models (one stream)",
    )
    p.add_argument(
        "--multi",
        action="store_true",
        help="two models on two live streams: the default thread budget against each --multi-threads setting",
    )
    p.add_argument("--crowd-dir", help=f"where the crowd clip and models are (default {BENCH_DIR})")
    p.add_argument("--multi-threads", help="--multi: threads: settings to compare, comma-separated (default 1,cores)")
    p.add_argument("--duration", type=float, default=20.0, help="--multi: seconds counted per setting (default 20)")
    p.add_argument("--warmup", type=float, default=4.0, help="--multi: seconds before counting starts (default 4)")
