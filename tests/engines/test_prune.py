from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from edge.engines.key import DeviceInfo
from edge.engines.prune import PrunePolicy, apply_prune, plan_prune
from edge.engines.store import EngineStore
from edge.errors import EdgeError
from tests.engines.test_key import BASE

NOW = time.time()
DAY = 86400.0
DEVICE = DeviceInfo("10.3.0", "Orin", (8, 7))


def _age(path: Path, days: float) -> None:
    os.utime(path, (NOW - days * DAY, NOW - days * DAY))


@pytest.fixture
def store(tmp_path: Path) -> EngineStore:
    """current (fresh), old (40 days), stale (other TensorRT), plus leftovers of every kind."""
    s = EngineStore(tmp_path / "engines")
    current = s.put("cam", BASE, b"current", 1.0, Path("cam.onnx"))
    old_key = dataclasses.replace(BASE, workspace_mib=64)
    old = s.put("cam", old_key, b"old", 1.0, Path("cam.onnx"))
    _age(s.manifest_path("cam", old.digest), 40)
    stale_key = dataclasses.replace(BASE, tensorrt_version="8.6.2")
    s.put("door", stale_key, b"stale", 1.0, Path("door.onnx"))
    s.put("door", BASE, b"x", 1.0, Path("door.onnx"))
    s.quarantine("door", BASE.digest, "sha256 mismatch")
    s.record_failure("door", "f" * 20, "out of memory")
    d = s.model_dir("cam")
    (d / "orphan1.engine").write_bytes(b"interrupted")
    _age(d / "orphan1.engine", 1)
    (d / "orphan2.engine").write_bytes(b"being written right now")
    (d / f".{current.digest}.engine.tmp-1-ab").write_bytes(b"tmp")
    _age(d / f".{current.digest}.engine.tmp-1-ab", 2)
    (d / "calibration-0123.cache").write_bytes(b"table")
    s.timing_cache_path(DEVICE).parent.mkdir(parents=True)
    s.timing_cache_path(DEVICE).write_bytes(b"timing")
    return s


def _names(store: EngineStore, policy: PrunePolicy) -> dict[str, str]:
    return {str(p.relative_to(store.root)): i.reason for i in plan_prune(store, policy, NOW) for p in i.paths}


ALWAYS = {"corrupt", "failed.json", "orphan1.engine", ".tmp-"}


@pytest.mark.parametrize(
    ("policy", "extra"),
    [
        (PrunePolicy(), set()),
        (PrunePolicy(device=DEVICE), {"8.6.2"}),
        (PrunePolicy(older_than_days=30), {"old"}),
    ],
)
def test_what_each_policy_removes(store: EngineStore, policy: PrunePolicy, extra: set[str]) -> None:
    names = _names(store, policy)
    reasons = set(names.values())
    assert "moved aside as corrupt" in reasons and "unfinished write" in reasons
    assert any("orphan1.engine" in n for n in names) and not any("orphan2" in n for n in names)
    assert ("8.6.2" in " ".join(reasons)) == ("8.6.2" in extra)
    assert any("older than 30 days" in r for r in reasons) == ("old" in extra)
    assert not any("calibration" in n or ".timing" in n for n in names)


def test_prune_all_removes_everything_but_locks(store: EngineStore) -> None:
    items = plan_prune(store, PrunePolicy(everything=True), NOW)
    apply_prune(items)
    left = [p for p in store.root.rglob("*") if p.is_file()]
    assert all(p.name == ".lock" for p in left)


def test_prune_one_model(store: EngineStore) -> None:
    names = _names(store, PrunePolicy(everything=True, model="door"))
    assert names and all(n.startswith("door/") for n in names)


def test_apply_removes_what_was_planned_and_counts_bytes(store: EngineStore) -> None:
    items = plan_prune(store, PrunePolicy(device=DEVICE), NOW)
    planned = sum(i.nbytes for i in items)
    assert apply_prune(items) == planned > 0
    assert not any(p.exists() for i in items for p in i.paths)
    assert store.read_manifest("cam", BASE.digest) is not None  # the current engine stays


def test_negative_age_is_refused() -> None:
    with pytest.raises(EdgeError, match="--older-than"):
        PrunePolicy(older_than_days=-1)
