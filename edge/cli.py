"""The ``edge`` command."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence

from edge import __version__
from edge.errors import EdgeError
from edge.jsonfast import dumps_bytes
from edge.logs import error_line, setup_logging

log = logging.getLogger("edge")


def _add_infer(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "infer",
        help="run a model on images and print hosted-API v1 JSON, one line per image",
        description="Run a model on images; print one hosted API v1 JSON document per image, in order.",
    )
    p.add_argument("--model", required=True, help="an .onnx file or a Roboflow model package directory")
    p.add_argument("--confidence", type=float, default=0.4, help="minimum confidence, 0-1 or percent (default 0.4)")
    p.add_argument("--overlap", type=float, default=0.3, help="NMS IoU threshold, 0-1 or percent (default 0.3)")
    p.add_argument("--max-detections", type=int, default=300, help="keep at most this many detections (default 300)")
    p.add_argument("--keypoint-confidence", type=float, default=0.0, help="drop keypoints below this confidence")
    p.add_argument(
        "--mask-decode-mode",
        choices=("accurate", "fast", "tradeoff"),
        default="accurate",
        help="instance masks: accurate (default), fast (prototype resolution) or tradeoff",
    )
    p.add_argument("--tradeoff-factor", type=float, default=0.0, help="tradeoff: 0 (prototypes) to 1 (input size)")
    p.add_argument(
        "--response-mask-format", choices=("polygon", "rle"), default="polygon", help="instance masks as points or RLE"
    )
    p.add_argument("--backend", default="onnxruntime", help="inference backend (default onnxruntime)")
    p.add_argument(
        "--max-pixels", type=int, default=40_000_000, help="refuse images over this many pixels (default 40000000)"
    )
    p.add_argument("images", nargs="+", help="image files (JPEG, PNG, BMP, ...)")
    p.set_defaults(func=_cmd_infer)


def _cmd_infer(args: argparse.Namespace) -> int:
    from edge.imageio import read_image
    from edge.model import Model
    from edge.tasks.params import InferenceParams

    params = InferenceParams.from_hosted(
        confidence=args.confidence,
        overlap=args.overlap,
        max_detections=args.max_detections,
        keypoint_confidence=args.keypoint_confidence,
        mask_decode_mode=args.mask_decode_mode,
        tradeoff_factor=args.tradeoff_factor,
        response_mask_format=args.response_mask_format,
    )
    failed = 0
    with Model.open(args.model, backend=args.backend) as model:
        for path in args.images:
            try:
                image = read_image(path, args.max_pixels)
            except EdgeError as exc:
                print(f"edge: error: {exc}", file=sys.stderr)  # the other images still run
                failed += 1
                continue
            doc = model.predict([image], params)[0].to_v1()
            sys.stdout.write(dumps_bytes(doc, allow_nan=True).decode("utf-8") + "\n")
            sys.stdout.flush()
    return 1 if failed else 0


def _add_inspect(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("inspect", help="print what edge reads from a model: task, classes, input, preprocessing")
    p.add_argument("model", help="an .onnx file or a Roboflow model package directory")
    p.set_defaults(func=_cmd_inspect)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from edge.models import load_spec

    spec = load_spec(args.model)
    pre = spec.preprocess
    doc = {
        "model": str(spec.onnx_path),
        "read_from": spec.source,
        "task": spec.task.value,
        "multi_label": spec.multi_label,
        "classes": list(spec.class_names),
        "input": {"width": pre.width, "height": pre.height, "batch": spec.batch or "dynamic"},
        "preprocess": {
            "resize": pre.resize_mode.value,
            "pad_value": pre.pad_value,
            "color": "rgb" if pre.rgb else "bgr",
            "scaling": pre.scaling,
            "mean": pre.mean,
            "std": pre.std,
        },
        "keypoints": [{"names": list(k.names), "edges": [list(e) for e in k.edges]} for k in spec.keypoints],
        "outputs": [{"name": o.name, "shape": list(o.shape), "dtype": o.dtype} for o in spec.outputs],
    }
    print(json.dumps(doc, indent=2))
    return 0


# Modules that add their own subcommands: each has ``register(subparsers)`` and imports
# nothing heavy at module level, so ``edge --help`` stays fast and runtime-free.
COMMAND_MODULES: tuple[str, ...] = (
    "edge.daemon.commands",
    "edge.engines.commands",
    "edge.service.commands",
    "edge.doctor.commands",
    "edge.roboflow.command",
    "edge.serve.commands",
    "edge.tracking.commands",
    "edge.homeassistant.commands",
)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="edge", description="Edge inference runtime: ONNX / TensorRT, hosted API v1 JSON."
    )
    ap.add_argument("--version", action="version", version=f"edge {__version__}")
    ap.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = ap.add_subparsers(dest="command", required=True)
    _add_infer(sub)
    _add_inspect(sub)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # in the try: subcommand modules may import cv2
        setup_logging(args.verbose)
        code: int = args.func(args)
        return code
    except EdgeError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name != "cv2":
            raise
        from edge.opencv_info import OPENCV_MISSING

        print(error_line(OPENCV_MISSING), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
