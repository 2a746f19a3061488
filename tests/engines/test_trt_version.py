"""TensorRT 8.6 (JetPack 6.0) against TensorRT 10: chosen where the backend is chosen, one line each.

The stand-in tensorrt is made to look like 8.6: ``__version__ = "8.6.2"`` and no
``IProgressMonitor``, which is what makes edge's builder fail at import on a real 8.6.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.engines.select import BackendResolver
from edge.engines.trt_version import TensorRTTooOld, version_problem
from edge.errors import BackendUnavailable
from tests.engines.common import detect_model
from tests.engines.fake_trt import World, forget_fake_bound_modules, install


@pytest.fixture
def jetpack60(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    world = World(tensorrt_version="8.6.2")
    install(monkeypatch, world)
    yield world
    forget_fake_bound_modules()


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("10.3.0", None),
        ("10.0.1.6", None),
        ("10.13.3.9", None),
        ("11.0.0", "TensorRT 11.0.0 found; edge's engine builder is written for TensorRT 10.x"),
        ("8.6.2", "TensorRT 8.6.2 found; edge needs TensorRT 10 or later: upgrade to JetPack 6.1 or later"),
        ("8.5.2.2", "TensorRT 8.5.2.2 found"),
        ("unknown", "TensorRT reports no usable version ('unknown')"),
    ],
)
def test_version_problem(version: str, problem: str | None) -> None:
    got = version_problem(version)
    assert got == problem if problem is None else (got is not None and got.startswith(problem))


def test_the_stand_in_looks_like_tensorrt_86(jetpack60: World) -> None:
    import tensorrt

    assert tensorrt.__version__ == "8.6.2" and not hasattr(tensorrt, "IProgressMonitor")


def test_auto_uses_onnxruntime_below_10_and_says_so_once(jetpack60: World, caplog: pytest.LogCaptureFixture) -> None:
    r = BackendResolver()
    with caplog.at_level(logging.WARNING, logger="edge.engines"):
        assert [r.resolve("auto") for _ in range(3)] == ["onnxruntime"] * 3
    (record,) = caplog.records
    msg = record.getMessage()
    assert "TensorRT 8.6.2 found" in msg and "JetPack 6.1" in msg and msg.endswith("using onnxruntime")


def test_explicit_tensorrt_fails_in_one_line_naming_the_version(jetpack60: World, tmp_path: Path) -> None:
    from edge.backends import create_backend

    with pytest.raises(BackendUnavailable) as err:
        create_backend("tensorrt", detect_model(tmp_path), engine_dir=tmp_path / "engines")
    msg = str(err.value)
    assert isinstance(err.value, TensorRTTooOld)
    assert "\n" not in msg and "TensorRT 8.6.2" in msg and "JetPack 6.1 or later" in msg


# trt_log uses only ILogger, which 8.6 has: it imports; the others refuse in one line.
@pytest.mark.parametrize(
    ("module", "refused"),
    [("edge.engines.builder", True), ("edge.backends.tensorrt", True), ("edge.engines.trt_log", False)],
)
def test_no_module_raises_attribute_error_at_import(jetpack60: World, module: str, refused: bool) -> None:
    import importlib

    if refused:
        with pytest.raises(TensorRTTooOld, match=r"8\.6\.2"):
            importlib.import_module(module)
    else:
        importlib.import_module(module)


def test_the_engine_cache_refuses_tensorrt_86(jetpack60: World) -> None:
    from edge.engines.device import detect_device

    with pytest.raises(TensorRTTooOld, match=r"^TensorRT 8\.6\.2 found; edge needs TensorRT 10"):
        detect_device()


def test_the_daemon_reports_the_version_for_a_tensorrt_model(jetpack60: World, tmp_path: Path) -> None:
    from edge.daemon.models import tensorrt_support
    from edge.engines.options import BuildOptions
    from edge.models import load_spec

    support = tensorrt_support(tmp_path / "engines")
    try:
        status = support.manager.request(load_spec(detect_model(tmp_path)), BuildOptions(), "det")
        assert "TensorRT 8.6.2 found" in str(status.reason)
    finally:
        support.manager.close(5)
