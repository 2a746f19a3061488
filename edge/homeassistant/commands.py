"""``edge homeassistant remove``: clear what Home Assistant discovery published. Imports little at top."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("homeassistant", help="Home Assistant MQTT discovery: remove what was published")
    ha = p.add_subparsers(dest="ha_command", required=True)
    r = ha.add_parser(
        "remove",
        help="delete this daemon's devices and entities from Home Assistant",
        description="Publish empty retained payloads to every discovery, state, availability and snapshot topic "
        "this config's daemon publishes (and those the broker still holds for it), so Home Assistant deletes "
        "the devices and their entities. Stop the daemon first, or turn discovery off, or it sends them again.",
    )
    r.add_argument("--config", required=True, help="the daemon's YAML config")
    r.add_argument("--listen", type=float, default=1.0, help="seconds to collect retained topics (default 1)")
    r.set_defaults(func=_cmd_remove)


def _cmd_remove(args: argparse.Namespace) -> int:
    from edge.config import load_config
    from edge.homeassistant.remove import remove

    removed = remove(load_config(args.config), listen=args.listen)
    for topic in removed:
        print(topic)
    print(f"edge: cleared {len(removed)} retained topics", flush=True)
    return 0
