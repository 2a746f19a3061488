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
        # alone on 2 or 3 cores: one single-threaded instance per core (1.17-1.2x frames/s)
        ([None], 2, [(1, True, 2)]),
        ([None], 3, [(1, True, 3)]),
        ([None], 1, [(1, True, 1)]),
        ([None], 8, [(8, True, 1)]),  # larger shares: one instance on every core, as before
        ([None, None], 2, [(1, False, 1), (1, False, 1)]),  # the case: 1 each, no spinning
        ([None, None], 4, [(1, False, 2), (1, False, 2)]),  # a share of 2 each: two instances each
        ([None, None], 8, [(4, False, 1), (4, False, 1)]),
        ([None, None, None], 8, [(1, False, 2)] * 3),  # a share of 2 each; the spare core is left to decoding
        ([None, None, None], 2, [(1, False, 1)] * 3),  # never below one
        ([3, None], 4, [(3, False, 1), (1, False, 1)]),  # an explicit count is taken out of the budget
        ([6, None], 4, [(6, False, 1), (1, False, 1)]),  # ...and kept even when it oversubscribes
        ([4], 2, [(4, True, 1)]),  # threads: alone means one instance
        ([], 2, []),
    ],
)
def test_plan_threads(requested: list[int | None], cores: int, want: list[tuple[int, bool, int]]) -> None:
    got = plan_threads(requested, cores)
    assert [(s.intra_op, s.spinning, s.instances) for s in got] == want


@pytest.mark.parametrize(
    ("threads", "instances", "cores", "want"),
    [
        (None, 1, 2, (2, 1)),  # instances: 1 asks for the old way: one inference on every core
        (None, 4, 2, (1, 4)),  # several instances share one pool: one thread each
        (2, 2, 2, (2, 2)),  # both given: kept as given
        (3, None, 2, (3, 1)),
    ],
)
def test_instances_override(threads: int | None, instances: int | None, cores: int, want: tuple[int, int]) -> None:
    (got,) = plan_threads([threads], cores, instances=[instances])
    assert (got.intra_op, got.instances) == want


def test_plan_defaults_to_the_usable_cores() -> None:
    assert plan_threads([None]) == plan_threads([None], usable_cores())
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


def test_one_instances_entry_per_model() -> None:
    with pytest.raises(EdgeError, match="one instances entry per model"):
        plan_threads([None, None], 2, instances=[1])


@pytest.mark.parametrize(("threads", "instances", "says"), [(0, 1, "threads"), (1, 0, "instances")])
def test_counts_below_one_are_refused(threads: int, instances: int, says: str) -> None:
    with pytest.raises(EdgeError, match=f"{says} must be at least 1"):
        ThreadSetting(threads, instances=instances)


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


def _loader_settings(models: list[ModelConfig]) -> dict[str, tuple[int, bool, int]]:
    loader = ModelLoader(models)
    try:
        opened = loader.open()
        out = {}
        for runner in opened.runners:
            b = runner.model.backend
            assert isinstance(b, OnnxRuntimeBackend)
            out[runner.name] = (b.threads, b.spinning, runner.instances)
        return out
    finally:
        loader.close()


def _expected(*settings: ThreadSetting) -> tuple[tuple[int, bool, int], ...]:
    return tuple((t.intra_op, t.spinning, t.instances) for t in settings)


@pytest.mark.parametrize(
    ("threads", "want"),
    [
        ((None, None), _expected(*plan_threads([None, None]))),
        ((1, None), _expected(*plan_threads([1, None]))),
        ((2, 2), ((2, False, 1), (2, False, 1))),  # threads: is an override
    ],
)
def test_daemon_splits_the_cores_among_its_models(
    threads: tuple[int | None, int | None], want: tuple[tuple[int, bool, int], ...]
) -> None:
    models = [ModelConfig("det", DETECT, threads=threads[0]), ModelConfig("seg", SEGMENT, threads=threads[1])]
    assert _loader_settings(models) == dict(zip(("det", "seg"), want))


@pytest.mark.parametrize(
    ("config", "want"),
    [
        ({}, _expected(*plan_threads([None]))),  # the budget's choice for this machine
        ({"instances": 2}, ((1, True, 2),)),
        ({"instances": 1}, ((usable_cores(), True, 1),)),
        # One thread runs the stages in turn: the share goes to one inference's threads.
        ({"pipelined": False}, ((usable_cores(), True, 1),)),
    ],
)
def test_daemon_gives_a_lone_model_every_core(config: dict[str, object], want: tuple[tuple[int, bool, int]]) -> None:
    assert _loader_settings([ModelConfig("det", Path(DETECT), **config)]) == {"det": want[0]}  # type: ignore[arg-type]
