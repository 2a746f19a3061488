from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.demo.clip import ClipKind, ClipSpec
from tests.clips import clip
from tests.helpers import FIXTURE_MODELS
from tests.mqtt_broker import Broker

TASKS = ("detect", "segment", "pose", "classify", "multilabel", "semantic")


class FixtureModels(dict[str, Path]):
    """Paths of the committed fixture models; a missing one fails the test that needs it."""

    def __getitem__(self, task: str) -> Path:
        path = super().__getitem__(task)
        if not path.is_file():  # committed files: a missing one is a broken checkout, not a skip
            pytest.fail(f"fixture model missing: {path}; run tools/train_fixtures.py --tasks {task}")
        return path


@pytest.fixture(scope="session")
def fixture_models() -> FixtureModels:
    return FixtureModels({t: FIXTURE_MODELS / f"shapes-{t}.onnx" for t in TASKS})


# Video clips shared by the pipeline, daemon, hosted, serve and sources tests: made once per
# session (tests.clips caches them by their spec), so each is encoded once however many use it.
@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def short_clip(clip_cache: Path) -> Path:
    """60 frames, 320x240 at 15 fps."""
    return clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=320, height=240, fps=15.0, frames=60, seed=5))


@pytest.fixture(scope="session")
def fast_clip(clip_cache: Path) -> Path:
    """150 frames, 160x120 at 60 fps: a quick live camera when read as live."""
    return clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=160, height=120, fps=60.0, frames=150, seed=6))


@pytest.fixture(scope="session")
def camera_clip(clip_cache: Path) -> Path:
    """90 frames, 160x120 at 30 fps: a live camera when read as live."""
    return clip(clip_cache, ClipSpec(ClipKind.SHAPES, width=160, height=120, fps=30.0, frames=90, seed=7))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running mosquitto on a free port, with persistence; killed at the end whatever happens."""
    b = Broker(tmp_path / "broker")
    try:
        yield b.start()
    finally:
        b.close()
