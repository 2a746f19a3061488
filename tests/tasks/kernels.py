"""A fixture that runs a test once with the compiled kernel and once on the numpy path."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from edge.tasks import native


def require_native() -> None:
    """Skip (said) where the kernel was turned off on purpose; fail where the install lacks it,
    since a build that quietly fell back would lose the masks' speed unseen."""
    if os.environ.get("EDGE_NATIVE") == "0":
        pytest.skip("EDGE_NATIVE=0: the compiled kernel is turned off")
    if not native.available():
        pytest.fail("the compiled kernel edge.tasks._native is not built: pip install -e . with a C compiler")


def _path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "native":
        require_native()
    if request.param == "numpy":
        monkeypatch.setattr(native, "_NATIVE", None)
    return str(request.param)


@pytest.fixture(params=["native", "numpy"], autouse=True)
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both paths must give the same answers; the numpy one is what an install without a C
    compiler runs (and, at camera scales, the cv2.resize windows of edge.tasks.window_resize)."""
    yield _path(request, monkeypatch)


@pytest.fixture(params=["native", "numpy"])
def both_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """:func:`kernel` for the tests that ask for it, in a module whose other tests share
    module-wide results (computed once, on whichever path ran first)."""
    yield _path(request, monkeypatch)
