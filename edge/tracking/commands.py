"""``edge tracking reset``: zero line counts in the state files while the daemon is stopped.

Why a command on the files and not an MQTT command topic: a reset is rare and deliberate, and a
topic anyone on the broker can write to would let any client wipe the counts. The daemon holds a
lock on the tracking folder while it runs, so the command refuses then instead of racing it; the
next start publishes the zeroed counters (retained).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.config import EdgeConfig


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tracking", help="tracking state: reset line counts")
    actions = p.add_subparsers(dest="action", required=True)
    r = actions.add_parser(
        "reset",
        help="zero line counts in the state files (the daemon must be stopped)",
        description="Zero the line counts a tracked stream keeps across restarts. Stop the daemon first; "
        "its next start publishes the zeroed counters. Tracker ids continue.",
    )
    r.add_argument("--config", required=True, help="the daemon's YAML config (for state_dir and the streams)")
    r.add_argument("--stream", help="only this stream (default: every tracked stream)")
    r.add_argument("--line", action="append", help="only this line (repeat for more; default: every line)")
    r.set_defaults(func=_cmd_reset)


def _cmd_reset(args: argparse.Namespace) -> int:
    from edge.config import ConfigErrors, load_config

    try:
        config = load_config(args.config)
    except ConfigErrors as exc:
        for line in exc.lines:
            print(f"edge: error: {line}", file=sys.stderr)
        return 1
    try:
        for line in reset(config.state_dir / "tracking", _streams(config, args.stream), args.line):
            print(line)
    except ValueError as exc:
        print(f"edge: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _streams(config: EdgeConfig, only: str | None) -> list[str]:
    tracked = [p.name for p in config.streams if p.tracking is not None]
    if only is not None and only not in tracked:
        raise ValueError(f"no tracked stream {only!r} in the config (tracked: {', '.join(tracked) or 'none'})")
    return [only] if only else tracked


def reset(folder: Path, streams: list[str], lines: list[str] | None) -> list[str]:
    """Zero ``lines`` (None: all) of each stream's state file; returns what it did, one line each.
    Raises ValueError while a daemon holds the folder, or for a line a stream never counted."""
    from edge.tracking.hub import LOCK_NAME, state_path
    from edge.tracking.state import load

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"a running daemon holds {folder}; stop it first (systemctl stop edge)") from None
        done = []
        for stream in streams:
            path = state_path(folder, stream)
            state = load(path)
            if state is None:
                done.append(f"{stream}: no counts kept yet; nothing to reset")
                continue
            chosen = list(state.lines) if lines is None else lines
            unknown = [n for n in chosen if n not in state.lines]
            if unknown and lines is not None and len(streams) == 1:
                raise ValueError(f"stream {stream} has no counts for line {unknown[0]!r} (has: {sorted(state.lines)})")
            for name in chosen:
                state.lines.pop(name, None)
            state.save(path)
            done.append(f"{stream}: reset {', '.join(n for n in chosen if n not in unknown) or 'nothing'}")
        return done
    finally:
        os.close(fd)
