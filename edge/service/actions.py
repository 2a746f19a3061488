"""The steps an install or uninstall takes, each printable (``--dry-run``) and runnable.

Every path is an absolute system path; ``root`` (``--root DIR``, for tests and image builds)
puts the files under a prefix and then skips what only makes sense on the live system: user
accounts, ownership, ``systemctl`` and ``pip``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from edge.errors import EdgeError

LIVE = Path("/")


def under(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


def _chown(path: Path, owner: str | None, group: str | None) -> None:
    if owner is not None and group is not None:
        shutil.chown(path, owner, group)
    elif owner is not None:
        shutil.chown(path, user=owner)
    elif group is not None:
        shutil.chown(path, group=group)


@dataclass(frozen=True)
class MakeDir:
    path: Path
    mode: int
    owner: str | None = None
    group: str | None = None

    def describe(self) -> str:
        own = f", owner {self.owner or 'root'}:{self.group or 'root'}" if self.owner or self.group else ""
        return f"create directory {self.path} (mode {self.mode:04o}{own})"

    def apply(self, root: Path) -> None:
        target = under(root, self.path)
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(self.mode)
        if root == LIVE:
            _chown(target, self.owner, self.group)


@dataclass(frozen=True)
class WriteFile:
    path: Path
    text: str
    mode: int
    group: str | None = None
    why: str = ""

    def describe(self) -> str:
        why = f" ({self.why})" if self.why else ""
        return f"write {self.path} (mode {self.mode:04o}){why}"

    def apply(self, root: Path) -> None:
        target = under(root, self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".edge-tmp")
        tmp.write_text(self.text, encoding="utf-8")
        tmp.chmod(self.mode)
        if root == LIVE:
            _chown(tmp, None, self.group)
        os.replace(tmp, target)


@dataclass(frozen=True)
class Remove:
    path: Path

    def describe(self) -> str:
        return f"remove {self.path}"

    def apply(self, root: Path) -> None:
        target = under(root, self.path)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    check: bool = True  # False: a failure is reported and the rest goes on (disabling a unit that is not there)

    def describe(self) -> str:
        return "run " + " ".join(self.argv)

    def apply(self, root: Path) -> None:
        if root != LIVE:
            return  # the live system's accounts and services are not under the prefix
        try:
            res = subprocess.run(list(self.argv), capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise EdgeError(f"{self.argv[0]} not found: this step needs it ({' '.join(self.argv)})") from None
        if res.returncode != 0 and self.check:
            detail = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
            raise EdgeError(f"{' '.join(self.argv)} failed: {detail}")


Action: TypeAlias = MakeDir | WriteFile | Remove | Run


def perform(actions: Sequence[Action], root: Path, dry_run: bool, say: Callable[[str], None] = print) -> None:
    """Print each action, and run it unless ``dry_run``. With a prefix, commands are printed as skipped."""
    for action in actions:
        if dry_run:
            say(f"would {action.describe()}")
            continue
        skipped = isinstance(action, Run) and root != LIVE
        say(f"skip (--root) {action.describe()}" if skipped else action.describe())
        action.apply(root)
