from __future__ import annotations

import logging
import types

import pytest

from edge.engines.select import BackendResolver
from edge.errors import BackendUnavailable


def _importer(fail: str | None, calls: list[str]):  # type: ignore[no-untyped-def]
    def imp(name: str) -> types.ModuleType:
        calls.append(name)
        if fail and name.startswith(fail):
            raise ImportError(f"No module named '{fail}'", name=fail)
        mod = types.ModuleType(name)
        mod.__version__ = "10.3.0"  # type: ignore[attr-defined]
        mod.__file__ = f"/usr/lib/python3/dist-packages/{name}/__init__.py"
        return mod

    return imp


@pytest.mark.parametrize(
    ("fail", "expected", "said"),
    [
        (None, "tensorrt", "TensorRT 10.3.0 found"),
        ("tensorrt", "onnxruntime", "No module named 'tensorrt'"),
        ("pycuda", "onnxruntime", "pycuda"),
    ],
)
def test_auto_picks_tensorrt_where_it_imports_and_says_so_once(
    caplog: pytest.LogCaptureFixture, fail: str | None, expected: str, said: str
) -> None:
    calls: list[str] = []
    r = BackendResolver(_importer(fail, calls))
    with caplog.at_level(logging.WARNING, logger="edge.engines"):
        assert [r.resolve("auto") for _ in range(3)] == [expected] * 3
    assert len(caplog.records) == 1 and said in caplog.text
    assert len(calls) <= 2  # probed once


def test_type_stubs_alone_do_not_count_as_tensorrt(caplog: pytest.LogCaptureFixture) -> None:
    # tensorrt-stubs installs a tensorrt/ folder of .pyi files: it imports, as an empty namespace.
    with caplog.at_level(logging.WARNING, logger="edge.engines"):
        assert BackendResolver(lambda name: types.ModuleType(name)).resolve("auto") == "onnxruntime"
    assert "only type stubs" in caplog.text


def test_explicit_backends_are_not_probed() -> None:
    calls: list[str] = []
    r = BackendResolver(_importer("tensorrt", calls))
    assert r.resolve("TensorRT") == "tensorrt" and r.resolve("onnxruntime") == "onnxruntime" and calls == []


def test_unknown_backend() -> None:
    with pytest.raises(BackendUnavailable, match="unknown backend 'cuda'; use one of auto, tensorrt, onnxruntime"):
        BackendResolver().resolve("cuda")
