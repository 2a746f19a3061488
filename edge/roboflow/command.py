"""``edge pull PROJECT/VERSION``: download a Roboflow model package for local execution.

What happened goes to stderr in one line; the package's path is the last line, on stdout,
so ``MODEL=$(edge pull shapes-abc12/3)`` works in a script.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from edge.roboflow.client import DEFAULT_API_URL, PullError

KEY_VAR = "ROBOFLOW_API_KEY"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pull",
        help="download a Roboflow model package (project/version) into the local cache",
        description=(
            "Download a Roboflow model's ONNX package for local execution and print its path. "
            f"The API key comes from ${KEY_VAR} or --api-key-file. A package checked with the API "
            "less than a day ago is used as it is; with the API unreachable a cached package is used."
        ),
    )
    p.add_argument("model_id", metavar="PROJECT/VERSION", help="the model, e.g. shapes-abc12/3")
    p.add_argument("--dir", type=Path, help="the cache folder (default: <state dir>/models)")
    p.add_argument("--api-url", default=None, help=f"the Roboflow API base (default {DEFAULT_API_URL})")
    p.add_argument("--api-key-file", type=Path, help=f"read the API key from this file instead of ${KEY_VAR}")
    p.add_argument("--refresh", action="store_true", help="ask the API now even if checked less than a day ago")
    p.set_defaults(func=_cmd_pull)


def read_key(key_file: Path | None) -> tuple[str, str]:
    """(key, where it came from). The key itself is never printed."""
    if key_file is not None:
        try:
            text = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PullError(f"--api-key-file: cannot read {key_file}: {exc.strerror}") from None
        if not text:
            raise PullError(f"--api-key-file: {key_file} is empty; put the Roboflow API key in it")
        return text, f"the key in {key_file}"
    key = os.environ.get(KEY_VAR, "").strip()
    if not key:
        raise PullError(f"no API key: set {KEY_VAR} or give --api-key-file (Roboflow app: Settings > API Keys)")
    return key, f"${KEY_VAR}"


def _cmd_pull(args: argparse.Namespace) -> int:
    from edge.config import default_state_dir
    from edge.roboflow.cache import PackageCache
    from edge.roboflow.client import RoboflowApi
    from edge.roboflow.pull import pull

    key, hint = read_key(args.api_key_file)
    base = args.api_url or DEFAULT_API_URL
    cache = PackageCache((args.dir or default_state_dir() / "models").expanduser())
    result = pull(args.model_id, cache, lambda: RoboflowApi(base, key), key_hint=hint, force=args.refresh)
    print(f"edge: {result.note}", file=sys.stderr)
    sys.stderr.flush()
    print(result.path)
    return 0
