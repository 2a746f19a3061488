"""File-system durability helpers shared by the engine cache, the model cache and the MQTT spool."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's) contents to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a create, rename or delete in ``folder`` durable: the directory entry must reach the disk too."""
    fsync_path(folder)
