from __future__ import annotations

from pathlib import Path

import pytest

from tests.clips import clip


@pytest.fixture(scope="session")
def small_clip(clip_cache: Path) -> Path:
    """300 frames, 320x240 at 15 fps."""
    return clip(clip_cache)
