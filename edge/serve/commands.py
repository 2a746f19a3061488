"""``edge serve``: the v1 route for models with no cameras. Imports nothing heavy at top."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

log = logging.getLogger("edge.serve")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="answer the hosted API v1 route over HTTP for models, with no cameras",
        description="Serve POST /{project}/{version} (the hosted API v1 route), /healthz, /readyz and /metrics "
        "for the given models until SIGINT/SIGTERM.",
    )
    p.add_argument("--model", action="append", required=True, help="an .onnx file or model package (repeatable)")
    p.add_argument(
        "--model-id",
        action="append",
        default=[],
        help="project/version that answers for the --model in the same position (default: NAME/1)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9001, help="port (default 9001, as Roboflow Inference)")
    p.add_argument("--backend", default="onnxruntime", help="onnxruntime, tensorrt or auto (default onnxruntime)")
    p.add_argument("--api-key-env", action="append", default=[], help="accept the key in this environment variable")
    p.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="listen beyond loopback with no API key (anyone who can reach the port is served)",
    )
    p.add_argument("--max-wait", type=float, default=2.0, help="seconds a request may wait for its model (default 2)")
    p.add_argument("--max-queue", type=int, default=16, help="requests waiting per model (default 16)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from edge.config import ConfigErrors, EdgeConfig, ModelConfig
    from edge.daemon.commands import StopOnSignal, use_level_prefixes
    from edge.daemon.runner import Daemon
    from edge.publish.config import SecretRef
    from edge.serve.config import HttpConfig
    from edge.serve.exposure import cli_refusal, exposed_without_keys

    if exposed_without_keys(args.host, bool(args.api_key_env), args.allow_unauthenticated):
        print(f"edge: error: {cli_refusal(args.host)}", file=sys.stderr)
        return 2
    use_level_prefixes()
    logging.getLogger("edge").setLevel(min(logging.getLogger("edge").getEffectiveLevel(), logging.INFO))
    if len(args.model_id) > len(args.model):
        print("edge: error: --model-id: one per --model, in the same order", file=sys.stderr)
        return 2
    models: dict[str, ModelConfig] = {}
    ids: list[tuple[str, str]] = []
    for i, text in enumerate(args.model):
        path = Path(text).expanduser().resolve()
        name = path.stem if path.suffix else path.name
        if name in models:
            name = f"{name}-{i}"
        models[name] = ModelConfig(name, path, args.backend.lower())
        if i < len(args.model_id):
            ids.append((name, args.model_id[i]))
    try:
        keys = tuple(SecretRef.from_value({"env": v}, "--api-key-env") for v in args.api_key_env)
        http = HttpConfig(
            args.host,
            args.port,
            keys,
            args.max_wait,
            args.max_queue,
            tuple(ids),
            allow_unauthenticated=args.allow_unauthenticated,
        )
        config = EdgeConfig(models, (), http=http)
    except ConfigErrors as exc:
        print("\n".join(f"edge: error: {line}" for line in exc.lines), file=sys.stderr)
        return 2
    stop = threading.Event()
    with StopOnSignal(stop):
        summary = Daemon(config).run(stop, args.duration)
    log.info("stopped (%s) after %.1f s", summary.reason, summary.seconds)
    return 0 if summary.ok else 1
