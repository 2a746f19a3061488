"""``edge service install`` and ``edge service uninstall``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edge.errors import EdgeError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "service",
        help="install or remove the systemd service (root)",
        description="Install edge as a systemd service running this venv's edge, or remove it.",
    )
    actions = p.add_subparsers(dest="service_command", required=True)
    inst = actions.add_parser(
        "install",
        help="create the edge user and directories, an example config if none, the unit; daemon-reload",
        description="Creates the edge system user (groups video, render where they exist), /etc/edge and "
        "/var/lib/edge, copies an example config only if there is none, writes /etc/systemd/system/edge.service "
        "for this venv with LoadCredential= lines for the credentials the config names, and reloads systemd. "
        "On a Jetson it removes the pip OpenCV from the venv so JetPack's, built with GStreamer, is used.",
    )
    _common(inst)
    inst.add_argument(
        "--keep-pip-opencv", action="store_true", help="on a Jetson, keep the pip OpenCV in the venv (no GStreamer)"
    )
    inst.set_defaults(func=_cmd_install)
    rm = actions.add_parser(
        "uninstall",
        help="stop, disable and remove the unit; keeps config and state unless --purge",
        description="Stops and disables the service and removes its unit. /etc/edge and /var/lib/edge (spool, "
        "engines) stay unless --purge, which also removes the edge user.",
    )
    _common(rm)
    rm.add_argument("--purge", action="store_true", help="also remove /etc/edge, /var/lib/edge and the edge user")
    rm.set_defaults(func=_cmd_uninstall)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="print every action and do nothing")
    p.add_argument(
        "--root",
        type=Path,
        default=Path("/"),
        help="write files under this prefix instead of / and skip user, systemctl and pip steps (tests, images)",
    )


def _need_root(args: argparse.Namespace) -> None:
    if not args.dry_run and args.root == Path("/") and os.geteuid() != 0:
        raise EdgeError(f"edge service {args.service_command} changes the system: run it as root (sudo)")


def _cmd_install(args: argparse.Namespace) -> int:
    from edge.service.actions import perform
    from edge.service.plan import (
        CONFIG,
        CREDENTIALS_DIR,
        Host,
        check_edge_path,
        example_config,
        install_plan,
        missing_credentials,
        read_config,
    )

    _need_root(args)
    host = Host.detect(args.root.resolve())
    check_edge_path(host.edge)
    existing = read_config(host)
    perform(install_plan(host, existing, keep_pip_opencv=args.keep_pip_opencv), host.root, args.dry_run)
    if host.jetson and host.pip_opencv and not host.system_opencv and not args.keep_pip_opencv:
        print(
            f"warning: kept {', '.join(host.pip_opencv)} (no GStreamer): JetPack's OpenCV is not installed; "
            "sudo apt install python3-opencv, then run this again"
        )
    print("\nnext:")
    text = existing if existing is not None else example_config()
    for name in missing_credentials(host, text):
        print(f"  printf '%s' 'THE-SECRET' > {CREDENTIALS_DIR / name} && chmod 0600 {CREDENTIALS_DIR / name}")
    print(f"  edit {CONFIG}, then: {host.edge} validate {CONFIG}")
    print("  systemctl enable --now edge && journalctl -u edge -f")
    return 0


def _cmd_uninstall(args: argparse.Namespace) -> int:
    from edge.service.actions import perform
    from edge.service.plan import CONFIG_DIR, STATE_DIR, uninstall_plan

    _need_root(args)
    perform(uninstall_plan(args.purge), args.root.resolve(), args.dry_run)
    if not args.purge:
        print(f"kept {CONFIG_DIR} and {STATE_DIR} (spool, engines); --purge removes them and the edge user")
    return 0
