"""The CPU thread budget: how ONNX Runtime models share the cores, and that the daemon applies it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.backends.onnxruntime import OnnxRuntimeBackend
from edge.backends.threads import ThreadSetting, plan_threads, usable_cores
from edge.config import ModelConfig
from edge.daemon.models import ModelLoader
from edge.errors import EdgeError
from tests.helpers import FIXTURE_MODELS

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
SEGMENT = FIXTURE_MODELS / "shapes-segment.onnx"


@pytest.mark.parametrize(
    ("requested", "cores", "want"),
    [
        ([None], 2, [(2, True)]),  # alone: every core, spinning as ONNX Runtime does by default
        ([None], 8, [(8, True)]),
        ([None, None], 2, [(1, False), (1, False)]),  # the case: 1 each, no spinning
        ([None, None], 8, [(4, False), (4, False)]),
        ([None, None, None], 8, [(2, False), (2, False), (2, False)]),  # the spare core is left to decoding
        ([None, None, None], 2, [(1, False), (1, False), (1, False)]),  # never below one
        ([3, None], 4, [(3, False), (1, False)]),  # an explicit count is taken out of the budget
        ([6, None], 4, [(6, False), (1, False)]),  # ...and kept even when it oversubscribes
        ([4], 2, [(4, True)]),
        ([], 2, []),
    ],
)
def test_plan_threads(requested: list[int | None], cores: int, want: list[tuple[int, bool]]) -> None:
    got = plan_threads(requested, cores)
    assert [(s.intra_op, s.spinning) for s in got] == want


def test_plan_defaults_to_the_usable_cores() -> None:
    assert plan_threads([None]) == [ThreadSetting(usable_cores(), True)]
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


def test_a_thread_count_below_one_is_refused() -> None:
    with pytest.raises(EdgeError, match="at least 1"):
        ThreadSetting(0)


def _spinning_entry(backend: OnnxRuntimeBackend) -> str:
    opts = backend._session.get_session_options()
    try:
        return str(opts.get_session_config_entry("session.intra_op.allow_spinning"))
    except Exception:  # ORT raises when the entry was never set: the default, spinning on
        return "unset"


@pytest.mark.parametrize(("threads", "spinning"), [(None, True), (1, False), (2, True)])
def test_backend_applies_the_setting(threads: int | None, spinning: bool) -> None:
    backend = OnnxRuntimeBackend(DETECT, threads=threads, spinning=spinning)
    assert backend.threads == (threads or usable_cores())
    assert backend._session.get_session_options().intra_op_num_threads == backend.threads
    assert _spinning_entry(backend) == ("unset" if spinning else "0")


def _loader_settings(models: list[ModelConfig]) -> dict[str, tuple[int, bool]]:
    loader = ModelLoader(models)
    try:
        opened = loader.open()
        out = {}
        for runner in opened.runners:
            b = runner.model.backend
            assert isinstance(b, OnnxRuntimeBackend)
            out[runner.name] = (b.threads, b.spinning)
        return out
    finally:
        loader.close()


@pytest.mark.parametrize(
    ("threads", "want"),
    [
        ((None, None), {"det": (max(1, usable_cores() // 2), False), "seg": (max(1, usable_cores() // 2), False)}),
        ((1, None), {"det": (1, False), "seg": (max(1, usable_cores() - 1), False)}),
        ((2, 2), {"det": (2, False), "seg": (2, False)}),  # threads: is an override
    ],
)
def test_daemon_splits_the_cores_among_its_models(
    threads: tuple[int | None, int | None], want: dict[str, tuple[int, bool]]
) -> None:
    models = [ModelConfig("det", DETECT, threads=threads[0]), ModelConfig("seg", SEGMENT, threads=threads[1])]
    assert _loader_settings(models) == want


def test_daemon_gives_a_lone_model_every_core() -> None:
    assert _loader_settings([ModelConfig("det", Path(DETECT))]) == {"det": (usable_cores(), True)}
