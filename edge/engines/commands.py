"""``edge compile``, ``edge engines list`` and ``edge engines prune``.

Imports nothing heavy at module level: TensorRT is imported only when ``compile`` runs (and
by ``prune`` to learn this device's TensorRT version, when it can).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from edge.engines.compile import BuildFn, ensure_engine, plan_build
from edge.engines.errors import EngineError
from edge.engines.key import DeviceInfo, sha256_file
from edge.engines.options import BatchProfile, BuildOptions, Precision
from edge.engines.paths import default_engine_dir
from edge.engines.progress import ProgressTracker, TextProgressBar
from edge.engines.prune import PrunePolicy, apply_prune, plan_prune
from edge.engines.store import EngineStore
from edge.errors import EdgeError

SubParsers = Any  # argparse._SubParsersAction is private; the CLI passes one in


def register(sub: SubParsers) -> None:
    _add_compile(sub)
    _add_engines(sub)


def _add_engine_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engines",
        metavar="DIR",
        help="engine cache folder (default: $EDGE_ENGINES, engines/ of a checkout, or the daemon's state directory)",
    )


def _add_compile(sub: SubParsers) -> None:
    p = sub.add_parser(
        "compile",
        help="build a model's TensorRT engine into the engine cache (or find it there)",
        description="Build the TensorRT engine of a model, showing progress; an engine already built "
        "from the same model, TensorRT, GPU and options is reused, not rebuilt.",
    )
    p.add_argument("--model", required=True, help="an .onnx file or a Roboflow model package directory")
    p.add_argument("--precision", default="fp16", choices=[p.value for p in Precision], help="default fp16")
    p.add_argument("--dla", type=int, metavar="N", help="build for DLA core N, with GPU fallback (Jetson Orin/Xavier)")
    p.add_argument("--workspace", type=int, metavar="MiB", help="builder workspace limit (default: TensorRT's)")
    p.add_argument(
        "--batch", metavar="MIN:OPT:MAX", help="batch sizes, for a model exported with a dynamic batch (default 1)"
    )
    p.add_argument("--calibration", metavar="DIR", help="folder of representative images, for int8")
    p.add_argument("--calibration-images", type=int, default=500, metavar="N", help="use at most N images (500)")
    p.add_argument("--force", action="store_true", help="build again even if the cache has this engine")
    _add_engine_dir(p)
    p.set_defaults(func=_cmd_compile)


def _add_engines(sub: SubParsers) -> None:
    p = sub.add_parser("engines", help="list or prune the TensorRT engine cache")
    esub = p.add_subparsers(dest="engines_command", required=True)
    ls = esub.add_parser("list", help="list cached engines with the inputs they were built from")
    ls.add_argument("--verify", action="store_true", help="also check each engine's sha256 (reads every engine)")
    ls.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    _add_engine_dir(ls)
    ls.set_defaults(func=_cmd_list)
    pr = esub.add_parser(
        "prune",
        help="remove corrupt, unfinished and stale engines",
        description="Remove engines moved aside as corrupt, leftovers of interrupted builds, build-failure "
        "records (those builds are then retried) and engines built for another TensorRT version or GPU "
        "than this device's; optionally engines older than N days, or everything.",
    )
    pr.add_argument("--older-than", type=float, metavar="DAYS", help="also remove engines built more than DAYS ago")
    pr.add_argument("--all", action="store_true", help="remove every engine and cache")
    pr.add_argument("--model", help="only this model's folder")
    pr.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    _add_engine_dir(pr)
    pr.set_defaults(func=_cmd_prune)


def _engine_dir(args: argparse.Namespace) -> Path:
    return Path(args.engines).expanduser() if args.engines else default_engine_dir()


def _device() -> DeviceInfo:
    from edge.engines.device import detect_device

    return detect_device()


def _builder() -> BuildFn:
    from edge.engines.builder import build_engine

    return build_engine


def _cmd_compile(args: argparse.Namespace) -> int:
    from edge.models import load_spec

    spec = load_spec(args.model)
    options = BuildOptions(
        precision=Precision.parse(args.precision),
        dla_core=args.dla,
        workspace_mib=args.workspace,
        batch=BatchProfile.parse(args.batch) if args.batch else None,
        calibration_dir=Path(args.calibration).expanduser() if args.calibration else None,
        calibration_images=args.calibration_images,
    )
    store = EngineStore(_engine_dir(args))
    req = plan_build(spec, options, _device(), store)
    bar = TextProgressBar(sys.stderr)
    try:
        got = ensure_engine(store, req, _builder(), ProgressTracker(bar), retry_failed=True, force=args.force)
    except EngineError as exc:
        bar.close()
        for line in exc.details:  # TensorRT's own words, after our one-line summary below
            print(f"  {line}", file=sys.stderr)
        raise
    bar.close()
    how = f"built in {got.manifest.build_seconds:.1f} s" if got.built else "already built, nothing to do"
    print(f"{req.describe()}: {how}\n{got.engine_path}")
    return 0


def _rows(store: EngineStore, verify: bool) -> list[dict[str, Any]]:
    rows = []
    for model in store.models():
        for mpath, m in store.manifests(model):
            epath = mpath.with_suffix(".engine")
            row: dict[str, Any] = {"model": model, "key": mpath.stem, "manifest": str(mpath)}
            if m is None:
                rows.append({**row, "status": "unreadable manifest"})
                continue
            size = epath.stat().st_size if epath.is_file() else None
            status = "ok" if size == m.engine_bytes else ("engine missing" if size is None else "size mismatch")
            if status == "ok" and verify and sha256_file(epath) != m.engine_sha256:
                status = "corrupt (sha256 mismatch)"
            k = m.key
            batch = f"{k.profile[0][0]}:{k.profile[1][0]}:{k.profile[2][0]}"
            row.update(precision=k.precision, batch=batch, tensorrt=k.tensorrt_version, gpu=k.gpu_name)
            row.update(dla=k.dla_core, mb=round(m.engine_bytes / 1e6, 1), built=m.created.isoformat(), status=status)
            rows.append(row)
        for path in sorted((store.root / model).glob("*.failed.json")):
            failure = store.failure(model, path.name.removesuffix(".failed.json"))
            reason = failure.reason if failure else "unreadable record"
            rows.append({"model": model, "key": path.name.split(".")[0], "status": f"build failed: {reason}"})
    return rows


def _cmd_list(args: argparse.Namespace) -> int:
    store = EngineStore(_engine_dir(args))
    rows = _rows(store, args.verify)
    if args.json:
        print(json.dumps({"engines": str(store.root), "entries": rows}, indent=2))
        return 0
    if not rows:
        print(f"no engines in {store.root}")
        return 0
    cols = ("model", "key", "precision", "batch", "dla", "tensorrt", "gpu", "mb", "built", "status")
    table = [[str(r.get(c, "") if r.get(c) is not None else "-") for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    print(f"engines in {store.root}")
    for line in [list(cols), *table]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    store = EngineStore(_engine_dir(args))
    device = None
    try:
        device = _device()
    except EdgeError as exc:
        print(f"note: {exc}; engines built for other TensorRT versions or GPUs are kept", file=sys.stderr)
    policy = PrunePolicy(everything=args.all, older_than_days=args.older_than, device=device, model=args.model)
    items = plan_prune(store, policy, time.time())
    freed = sum(i.nbytes for i in items) if args.dry_run else apply_prune(items)
    for item in items:
        for path in item.paths:
            print(f"{'would remove' if args.dry_run else 'removed'} {path} ({item.reason})")
    print(f"{len(items)} item(s), {freed / 1e6:.1f} MB {'would be ' if args.dry_run else ''}freed")
    return 0
