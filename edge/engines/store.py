"""The engine cache on disk: ``<root>/<model>/<key>.engine`` with ``<key>.json`` beside it.

Every write is atomic (temporary file in the same folder, fsync, rename, fsync of the folder),
so a power cut leaves either the old state or the new one, never half an engine under its
final name. The engine is written before its manifest; an engine without a manifest is a
leftover that lookups ignore and ``prune`` removes. An engine whose bytes do not match its
manifest's sha256 is moved aside as ``<key>.engine.corrupt-<time>`` and reported as missing,
so the caller rebuilds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from edge.engines.errors import EngineError
from edge.engines.key import DeviceInfo, EngineKey
from edge.engines.manifest import Manifest
from edge.fsutil import fsync_dir

log = logging.getLogger("edge.engines")

TIMING_DIR = ".timing"


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def safe_name(model: str) -> str:
    """A model name usable as one folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._") or "model"


@dataclass(frozen=True)
class Lookup:
    """The result of looking an engine up: its manifest and verified bytes, or why not."""

    manifest: Manifest | None = None
    data: bytes | None = None
    problem: str | None = None  # set when an entry existed but was corrupt and moved aside


@dataclass(frozen=True)
class FailureRecord:
    """A failed build of one key, kept so it is not retried until the inputs change."""

    key: str
    reason: str
    details: tuple[str, ...]
    when: datetime


class EngineStore:
    """Engines of many models under one root folder (``engines/`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def model_dir(self, model: str) -> Path:
        return self.root / safe_name(model)

    def engine_path(self, model: str, digest: str) -> Path:
        return self.model_dir(model) / f"{digest}.engine"

    def manifest_path(self, model: str, digest: str) -> Path:
        return self.model_dir(model) / f"{digest}.json"

    def failure_path(self, model: str, digest: str) -> Path:
        return self.model_dir(model) / f"{digest}.failed.json"

    def timing_cache_path(self, device: DeviceInfo) -> Path:
        return self.root / TIMING_DIR / f"{device.slug}.cache"

    def calibration_cache_path(self, model: str, calibration_id: str) -> Path:
        return self.model_dir(model) / f"calibration-{calibration_id}.cache"

    @contextlib.contextmanager
    def lock(self, model: str) -> Iterator[None]:
        """Hold the model's build lock: one build per model at a time, across processes
        (``edge compile`` next to a running daemon) and threads alike."""
        folder = self.model_dir(model)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def read_manifest(self, model: str, digest: str) -> Manifest | None:
        """The manifest of a complete-looking entry (manifest readable, engine of the right
        size), without reading the engine; None when absent or broken."""
        mpath, epath = self.manifest_path(model, digest), self.engine_path(model, digest)
        if not mpath.is_file():
            return None
        try:
            m = Manifest.from_json(mpath.read_text(encoding="utf-8"))
        except (EngineError, OSError, UnicodeDecodeError):
            return None
        if m.digest != digest or not epath.is_file() or epath.stat().st_size != m.engine_bytes:
            return None
        return m

    def load(self, model: str, digest: str) -> Lookup:
        """The engine's bytes, checked against its manifest; a corrupt entry is moved aside."""
        mpath, epath = self.manifest_path(model, digest), self.engine_path(model, digest)
        if not mpath.is_file():
            return Lookup()
        try:
            m = Manifest.from_json(mpath.read_text(encoding="utf-8"))
        except (EngineError, UnicodeDecodeError) as exc:
            return Lookup(problem=self._corrupt(model, digest, f"manifest: {exc}"))
        if m.digest != digest:
            return Lookup(problem=self._corrupt(model, digest, f"manifest is for key {m.digest}"))
        if not epath.is_file():
            return Lookup(problem=self._corrupt(model, digest, "engine file missing"))
        data = epath.read_bytes()
        if len(data) != m.engine_bytes:
            return Lookup(problem=self._corrupt(model, digest, f"truncated: {len(data)} of {m.engine_bytes} bytes"))
        if hashlib.sha256(data).hexdigest() != m.engine_sha256:
            return Lookup(problem=self._corrupt(model, digest, "sha256 mismatch"))
        return Lookup(manifest=m, data=data)

    def put(self, model: str, key: EngineKey, data: bytes, build_seconds: float, onnx_path: Path) -> Manifest:
        """Store a built engine, engine first and manifest last (the manifest commits it)."""
        if not data:
            raise EngineError(f"refusing to store an empty engine for {model}")
        m = Manifest(
            model=model,
            key=key,
            engine_sha256=hashlib.sha256(data).hexdigest(),
            engine_bytes=len(data),
            created=datetime.now(timezone.utc).replace(microsecond=0),  # as the manifest keeps it
            build_seconds=build_seconds,
            onnx_path=str(onnx_path),
        )
        atomic_write(self.engine_path(model, m.digest), data)
        atomic_write(self.manifest_path(model, m.digest), m.to_json().encode())
        return m

    def quarantine(self, model: str, digest: str, reason: str) -> list[Path]:
        """Move an entry's files aside (kept for inspection, removed by ``prune``)."""
        stamp = _stamp()
        moved = []
        for path in (self.engine_path(model, digest), self.manifest_path(model, digest)):
            if path.exists():
                moved.append(move_aside(path, stamp))
        if moved:
            note = moved[0].with_name(f"{moved[0].name}.reason.txt")
            atomic_write(note, (reason.rstrip() + "\n").encode())
        return moved

    def _corrupt(self, model: str, digest: str, reason: str) -> str:
        moved = self.quarantine(model, digest, reason)
        where = ", ".join(p.name for p in moved) or "nothing to move"
        log.warning("engine %s/%s is corrupt (%s); moved aside (%s), it will be rebuilt", model, digest, reason, where)
        return reason

    def record_failure(self, model: str, digest: str, reason: str, details: Sequence[str] = ()) -> None:
        doc = {
            "key": digest,
            "reason": reason,
            "details": list(details)[-50:],
            "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        atomic_write(self.failure_path(model, digest), (json.dumps(doc, indent=2) + "\n").encode())

    def failure(self, model: str, digest: str) -> FailureRecord | None:
        path = self.failure_path(model, digest)
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return FailureRecord(
                key=str(doc["key"]),
                reason=str(doc["reason"]),
                details=tuple(str(d) for d in doc.get("details", ())),
                when=datetime.fromisoformat(str(doc["when"])),
            )
        except (ValueError, KeyError, TypeError, AttributeError, OSError):
            # An unreadable record must not block builds forever: forget it.
            log.warning("ignoring unreadable build-failure record %s", path)
            return None

    def clear_failure(self, model: str, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.failure_path(model, digest).unlink()

    def models(self) -> list[str]:
        """Folder names of the models that have anything in the store."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def manifests(self, model: str) -> list[tuple[Path, Manifest | None]]:
        """Every ``<key>.json`` of a model folder with its parsed manifest (None: unreadable)."""
        out: list[tuple[Path, Manifest | None]] = []
        for path in sorted(self.root.joinpath(model).glob("*.json")):
            if path.name.endswith(".failed.json"):
                continue
            try:
                out.append((path, Manifest.from_json(path.read_text(encoding="utf-8"))))
            except (EngineError, OSError, UnicodeDecodeError):
                out.append((path, None))
        return out


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def move_aside(path: Path, stamp: str | None = None) -> Path:
    """Rename ``path`` to ``<name>.corrupt-<time>`` (kept for inspection, removed by ``prune``)."""
    stamp = stamp or _stamp()
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    return target


def file_age_days(path: Path, now: float | None = None) -> float:
    return ((now if now is not None else time.time()) - path.stat().st_mtime) / 86400.0
