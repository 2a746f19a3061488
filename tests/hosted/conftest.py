from __future__ import annotations

from pathlib import Path

import pytest

from edge.demo.clip import ClipKind, ClipSpec
from tests.clips import clip


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def camera_clip(clip_cache: Path) -> Path:
    """90 frames, 160x120 at 30 fps: a live camera when read as live."""
    return clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=160, height=120, fps=30.0, frames=90, seed=7))


@pytest.fixture(scope="session")
def short_clip(clip_cache: Path) -> Path:
    """60 frames, 320x240 at 15 fps."""
    return clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=320, height=240, fps=15.0, frames=60, seed=5))
