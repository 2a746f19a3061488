"""``edge run``, ``edge validate``, ``edge bench`` and ``edge demo``.

Nothing heavy is imported at module level: ``edge --help`` must not load OpenCV or a runtime.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger("edge.daemon")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run the daemon in the foreground: cameras -> models -> MQTT",
        description="Run streams through models and publish the results until stopped (SIGINT/SIGTERM drain "
        "in-flight frames and flush publishes), --duration passes, or every source has ended.",
    )
    p.add_argument("--config", required=True, help="the YAML config (see docs/daemon.md)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    p.add_argument(
        "--exit-on-stall",
        action="store_true",
        help="exit with status 1 when a model or sink stops progressing for watchdog.stall seconds "
        "(for supervisors other than systemd's watchdog)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", help="check a daemon config; prints OK or one line per error")
    p.add_argument("config", help="the YAML config")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "bench",
        help="benchmark end-to-end pipeline frames/s and latency against the raw backend",
        description="Runs the raw backend and 1 and 4 file streams through the pipeline, each in a fresh process, "
        "and reports frames/s, latency, per-stage time and peak memory.",
    )
    _bench_arguments(p)
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser(
        "demo",
        help="run the daemon on a moving-shapes clip with a local broker and show what a subscriber receives",
        description="Draws demo clips, starts a local mosquitto (installing it where it can), runs every fixture "
        "model on the clips for --duration seconds, prints what a subscriber receives and writes annotated "
        "snapshots.",
    )
    p.add_argument("--duration", type=float, default=20.0, help="seconds to run (default 20)")
    p.add_argument("--out", default="demo-output", help="where clips, config and snapshots go (default demo-output)")
    p.add_argument("--no-broker", action="store_true", help="skip MQTT: hand results to the subscriber in-process")
    p.set_defaults(func=_cmd_demo)


class StopOnSignal:
    """SIGINT/SIGTERM set ``event``; a second signal falls back to the default (immediate) action."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        self.event.set()
        signal.signal(signum, signal.SIG_DFL)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def use_level_prefixes() -> None:
    from edge.logs import use_level_prefixes as keep_journal_format

    keep_journal_format()


def print_config_errors(lines: list[str]) -> None:
    from edge.logs import error_line

    for line in lines:
        print(error_line(line), file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    from edge.config import ConfigErrors, load_config
    from edge.daemon.reload import ReloadOnSignal
    from edge.daemon.runner import Daemon

    use_level_prefixes()
    if not args.quiet:
        logging.getLogger("edge").setLevel(min(logging.getLogger("edge").getEffectiveLevel(), logging.INFO))
    if args.duration is not None and args.duration <= 0:
        print("edge: error: --duration must be more than 0 seconds", file=sys.stderr)
        return 2
    try:
        config = load_config(Path(args.config))
    except ConfigErrors as exc:
        print_config_errors(exc.lines)
        return 2
    stop = threading.Event()
    daemon = Daemon(config, exit_on_stall=args.exit_on_stall)
    with StopOnSignal(stop) as signals, ReloadOnSignal(daemon.request_reload):
        summary = daemon.run(stop, args.duration)
    reason = f"{signals.received}" if summary.reason == "signal" and signals.received else summary.reason
    for name, s in summary.streams.items():
        log.info(
            "stream %s: %s; %d frames read, %d results, %d dropped", name, s.state, s.frames_read, s.inferred, s.dropped
        )
    log.info("stopped (%s) after %.1f s", reason, summary.seconds)
    return 0 if summary.ok else 1


def _bench_arguments(p: argparse.ArgumentParser) -> None:
    from edge.bench.cli import add_arguments  # argparse only: edge.bench.cli imports nothing heavy at top

    add_arguments(p)


def _cmd_bench(args: argparse.Namespace) -> int:
    from edge.bench.cli import bench_main

    return bench_main(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from edge.demo.run import DemoOptions, run_demo

    use_level_prefixes()
    logging.getLogger("edge").setLevel(logging.WARNING)
    opts = DemoOptions(duration=args.duration, out=Path(args.out), broker=not args.no_broker)
    stop = threading.Event()
    with StopOnSignal(stop):
        return run_demo(opts, stop)


def _cmd_validate(args: argparse.Namespace) -> int:
    from edge.config import ConfigErrors, load_config
    from edge.daemon.checks import check_runtime
    from edge.logs import error_line

    path = Path(args.config)
    try:
        config = load_config(path, check_files=True)
    except ConfigErrors as exc:
        print_config_errors(exc.lines)
        return 1
    errors, warnings = check_runtime(config)
    for line in warnings:
        print(error_line(line, logging.WARNING), file=sys.stderr)
    if errors:
        print_config_errors(errors)
        return 1
    print(f"{path}: OK ({len(config.streams)} streams, {len(config.models)} models)")
    return 0
