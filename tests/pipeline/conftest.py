from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge.pipeline import Pipeline


@pytest.fixture
def pipelines() -> Iterator[list[Pipeline]]:
    """Pipelines a test made; each is stopped (and must stop) when the test ends."""
    made: list[Pipeline] = []
    yield made
    for p in made:
        assert p.stop(drain=False, timeout=10)
