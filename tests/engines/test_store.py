from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.engines.manifest import Manifest
from edge.engines.store import EngineStore, Lookup, atomic_write
from tests.engines.test_key import BASE

DATA = b"\x01engine bytes\x00" * 100


@pytest.fixture
def store(tmp_path: Path) -> EngineStore:
    return EngineStore(tmp_path / "engines")


def _put(store: EngineStore) -> Manifest:
    return store.put("shapes-detect", BASE, DATA, 12.5, Path("/models/shapes-detect.onnx"))


def test_atomic_write_leaves_only_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two" and os.listdir(target.parent) == ["f.bin"]


def test_atomic_write_failure_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.bin"
    atomic_write(target, b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


def test_put_then_load(store: EngineStore) -> None:
    m = _put(store)
    got = store.load("shapes-detect", BASE.digest)
    assert got == Lookup(manifest=m, data=DATA)
    assert store.engine_path("shapes-detect", BASE.digest).name == f"{BASE.digest}.engine"
    assert Manifest.from_json(store.manifest_path("shapes-detect", BASE.digest).read_text()) == m
    assert store.read_manifest("shapes-detect", BASE.digest) == m


def test_missing_entry_is_a_plain_miss(store: EngineStore) -> None:
    assert store.load("shapes-detect", BASE.digest) == Lookup()
    # An engine without its manifest is an interrupted build: not found, not "corrupt".
    store.engine_path("shapes-detect", BASE.digest).parent.mkdir(parents=True)
    store.engine_path("shapes-detect", BASE.digest).write_bytes(DATA)
    assert store.load("shapes-detect", BASE.digest) == Lookup()


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:-7])


def _flip(p: Path) -> None:
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0xFF
    p.write_bytes(bytes(b))


@pytest.mark.parametrize(
    ("damage", "target", "problem"),
    [
        (_truncate, "engine", "truncated"),
        (_flip, "engine", "sha256 mismatch"),
        (lambda p: p.unlink(), "engine", "engine file missing"),
        (lambda p: p.write_text("{not json"), "manifest", "manifest: unreadable manifest"),
        (
            lambda p: p.write_text(p.read_text().replace('"precision": "fp16"', '"precision": "int8"')),
            "manifest",
            "does not match its inputs",
        ),
    ],
)
def test_a_damaged_entry_is_moved_aside_and_reported(store: EngineStore, damage, target: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    _put(store)
    paths = {
        "engine": store.engine_path("shapes-detect", BASE.digest),
        "manifest": store.manifest_path("shapes-detect", BASE.digest),
    }
    damage(paths[target])
    got = store.load("shapes-detect", BASE.digest)
    assert got.manifest is None and got.data is None and got.problem is not None and problem in got.problem
    names = os.listdir(store.model_dir("shapes-detect"))
    assert not any(n in names for n in (paths["engine"].name, paths["manifest"].name))
    notes = [n for n in names if n.endswith(".reason.txt")]
    assert len(notes) == 1 and problem in (store.model_dir("shapes-detect") / notes[0]).read_text()
    assert store.load("shapes-detect", BASE.digest) == Lookup()  # now simply missing: rebuild


def test_quarantine_twice_in_a_second_keeps_both(store: EngineStore) -> None:
    _put(store)
    store.quarantine("shapes-detect", BASE.digest, "first")
    _put(store)
    store.quarantine("shapes-detect", BASE.digest, "second")
    aside = [
        n for n in os.listdir(store.model_dir("shapes-detect")) if ".engine.corrupt-" in n and not n.endswith(".txt")
    ]
    assert len(aside) == 2


def test_failure_records(store: EngineStore) -> None:
    assert store.failure("m", "k") is None
    store.record_failure("m", "k", "out of memory", [f"[E] line {i}" for i in range(80)])
    rec = store.failure("m", "k")
    assert rec is not None and rec.reason == "out of memory" and len(rec.details) == 50
    store.clear_failure("m", "k")
    assert store.failure("m", "k") is None
    store.failure_path("m", "k").write_text("garbage")
    assert store.failure("m", "k") is None  # unreadable: forgotten, not blocking


def test_model_names_become_safe_folders(store: EngineStore) -> None:
    assert store.model_dir("../../etc/passwd").parent == store.root
    assert store.model_dir("front door cam").name == "front_door_cam"
