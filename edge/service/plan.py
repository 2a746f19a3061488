"""What ``edge service install`` and ``uninstall`` do, as a list of actions, from what the host has.

:class:`Host` is everything read from the machine (the venv's ``edge``, which groups and
user exist, whether it is a Jetson with a pip OpenCV in the venv); the plans are pure
functions of it, so tests print and check them without root.
"""

from __future__ import annotations

import grp
import pwd
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from edge.errors import EdgeError
from edge.opencv_info import installed_pip_opencv, on_jetson
from edge.service.actions import LIVE, Action, MakeDir, Remove, Run, WriteFile, under
from edge.service.unit import UnitSettings, credentials_in_config, render_unit

USER = "edge"
WANTED_GROUPS = ("video", "render")  # cameras; GPU device nodes on a Jetson
CONFIG_DIR = Path("/etc/edge")
CONFIG = CONFIG_DIR / "edge.yaml"
CREDENTIALS_DIR = CONFIG_DIR / "credentials"
STATE_DIR = Path("/var/lib/edge")
UNIT_PATH = Path("/etc/systemd/system/edge.service")
# Where JetPack's python3-opencv (or one built from source) puts cv2.
SYSTEM_OPENCV = tuple(
    Path(base) / "cv2"
    for base in (
        "/usr/lib/python3/dist-packages",
        f"/usr/lib/python3.{sys.version_info.minor}/dist-packages",
        f"/usr/local/lib/python3.{sys.version_info.minor}/dist-packages",
    )
)
# ProtectHome=yes hides these from the service: an edge installed there cannot start.
HIDDEN_BY_PROTECT_HOME = (Path("/home"), Path("/root"), Path("/run/user"))


@dataclass(frozen=True)
class Host:
    root: Path
    edge: Path  # the edge executable the unit runs
    python: Path  # that venv's Python (pip runs through it)
    groups: tuple[str, ...]  # of WANTED_GROUPS, those that exist
    user_groups: tuple[str, ...] | None  # the edge user's groups; None: no such user
    jetson: bool
    pip_opencv: tuple[str, ...]  # pip OpenCV wheels in the venv
    system_opencv: bool = False  # an OpenCV of the system Python (JetPack's python3-opencv)

    @classmethod
    def detect(cls, root: Path = LIVE) -> Host:
        venv_bin = Path(sys.prefix) / "bin"
        return cls(
            root=root,
            edge=venv_bin / "edge",
            python=venv_bin / "python",
            groups=tuple(g for g in WANTED_GROUPS if _group_exists(g)),
            user_groups=_user_groups(USER),
            jetson=on_jetson(),
            pip_opencv=installed_pip_opencv(),
            system_opencv=any(p.is_dir() for p in SYSTEM_OPENCV),
        )


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _user_groups(name: str) -> tuple[str, ...] | None:
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        return None
    return tuple(g.gr_name for g in grp.getgrall() if name in g.gr_mem or g.gr_gid == user.pw_gid)


def example_config() -> str:
    return resources.files("edge.service").joinpath("edge.example.yaml").read_text(encoding="utf-8")


def check_edge_path(edge: Path) -> None:
    for hidden in HIDDEN_BY_PROTECT_HOME:
        if edge.is_relative_to(hidden):
            raise EdgeError(
                f"{edge} is under {hidden}, which the unit's ProtectHome=yes hides: "
                "install edge under /opt (git clone ... /opt/edge) and run its .venv/bin/edge"
            )
    if not edge.is_file():
        raise EdgeError(f"no edge executable at {edge}; run the installer from edge's venv (.venv/bin/edge)")


def _user_actions(host: Host) -> list[Action]:
    if host.user_groups is None:
        argv = ["useradd", "--system", "--user-group", "--home-dir", str(STATE_DIR), "--no-create-home"]
        argv += ["--shell", "/usr/sbin/nologin"] + (["--groups", ",".join(host.groups)] if host.groups else [])
        return [Run((*argv, USER))]
    missing = [g for g in host.groups if g not in host.user_groups]
    return [Run(("usermod", "--append", "--groups", ",".join(missing), USER))] if missing else []


def read_config(host: Host) -> str | None:
    """The config already in place, or None."""
    path = under(host.root, CONFIG)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def install_plan(host: Host, existing: str | None, keep_pip_opencv: bool = False) -> list[Action]:
    """Every step of an install, given the config in place (None: the example is copied). The
    unit's LoadCredential= lines are for the credentials that config names."""
    actions: list[Action] = _user_actions(host)
    actions += [
        MakeDir(CONFIG_DIR, 0o750, group=USER),
        MakeDir(CREDENTIALS_DIR, 0o700),  # read by systemd (root) for LoadCredential=, never by the service
        MakeDir(STATE_DIR, 0o750, owner=USER, group=USER),
    ]
    config_text = existing
    if existing is None:
        config_text = example_config()
        actions.append(WriteFile(CONFIG, config_text, 0o640, group=USER, why="the example config: none was there"))
    if swaps_opencv(host, keep_pip_opencv):
        # JetPack's OpenCV has GStreamer (hardware decode, CSI cameras); the pip wheel hides it.
        actions.append(Run((str(host.python), "-m", "pip", "uninstall", "--yes", *host.pip_opencv)))
    settings = UnitSettings(host.edge, CONFIG, host.groups, credentials_in_config(config_text or ""), CREDENTIALS_DIR)
    actions.append(WriteFile(UNIT_PATH, render_unit(settings), 0o644, why=f"runs {host.edge}"))
    actions.append(Run(("systemctl", "daemon-reload")))
    return actions


def swaps_opencv(host: Host, keep_pip_opencv: bool = False) -> bool:
    """Whether the install removes the venv's pip OpenCV: on a Jetson, when JetPack's is there to take over."""
    return host.jetson and bool(host.pip_opencv) and host.system_opencv and not keep_pip_opencv


def uninstall_plan(purge: bool) -> list[Action]:
    actions: list[Action] = [
        Run(("systemctl", "disable", "--now", "edge.service"), check=False),
        Remove(UNIT_PATH),
        Run(("systemctl", "daemon-reload")),
    ]
    if purge:
        actions += [Remove(STATE_DIR), Remove(CONFIG_DIR), Run(("userdel", USER), check=False)]
    return actions


def missing_credentials(host: Host, config_text: str) -> list[str]:
    return [n for n in credentials_in_config(config_text) if not under(host.root, CREDENTIALS_DIR / n).is_file()]
