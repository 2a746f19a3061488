"""Where the engine cache lives when nobody says."""

from __future__ import annotations

import os
from pathlib import Path

ENV_ENGINES = "EDGE_ENGINES"


def default_engine_dir() -> Path:
    """``$EDGE_ENGINES``; else ``engines/`` of a source checkout; else the daemon's state
    directory (``$STATE_DIRECTORY``, set by systemd's StateDirectory=); else
    ``$XDG_STATE_HOME/edge/engines`` (``~/.local/state/edge/engines``)."""
    if os.environ.get(ENV_ENGINES):
        return Path(os.environ[ENV_ENGINES]).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "engines").is_dir() and (checkout / "setup.py").is_file():
        return checkout / "engines"
    if os.environ.get("STATE_DIRECTORY"):
        # systemd may list several folders separated by colons; the first is ours.
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0]) / "engines"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "edge" / "engines"
