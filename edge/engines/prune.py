"""What ``edge engines prune`` removes, decided apart from removing it (so ``--dry-run`` shows it).

Always removed: engines moved aside as corrupt, leftovers of interrupted writes and builds,
and build-failure records (so those builds are tried again). Also removed on request: engines
built for another TensorRT version or GPU than this device's (stale after a JetPack upgrade),
engines older than N days, or everything.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from edge.engines.key import DeviceInfo
from edge.engines.manifest import Manifest
from edge.engines.store import TIMING_DIR, EngineStore, file_age_days, safe_name
from edge.errors import EdgeError

_SETTLE_DAYS = 1 / 24  # leftovers younger than an hour may belong to a write in progress


@dataclass(frozen=True)
class PrunePolicy:
    everything: bool = False
    older_than_days: float | None = None
    device: DeviceInfo | None = None  # known: engines for another TensorRT or GPU are stale
    model: str | None = None

    def __post_init__(self) -> None:
        if self.older_than_days is not None and self.older_than_days < 0:
            raise EdgeError(f"--older-than must be 0 or more days, got {self.older_than_days}")


@dataclass(frozen=True)
class PruneItem:
    paths: tuple[Path, ...]
    reason: str

    @property
    def nbytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths if p.exists())


def _stale(m: Manifest, device: DeviceInfo) -> str | None:
    k = m.key
    if k.tensorrt_version != device.tensorrt_version:
        return f"built for TensorRT {k.tensorrt_version}, this device has {device.tensorrt_version}"
    if k.gpu_name != device.gpu_name or k.compute_capability != device.capability:
        return f"built for {k.gpu_name} (sm {k.compute_capability}), this device is {device.gpu_name}"
    return None


def _entry_reason(m: Manifest | None, policy: PrunePolicy, age_days: float) -> str | None:
    if policy.everything:
        return "--all"
    if m is None:
        return "unreadable manifest"
    if policy.device is not None and (why := _stale(m, policy.device)):
        return why
    if policy.older_than_days is not None and age_days > policy.older_than_days:
        return f"older than {policy.older_than_days:g} days"
    return None


def _strays(folder: Path, listed: set[Path], everything: bool, now: float) -> list[PruneItem]:
    items = []
    for p in sorted(folder.iterdir()):
        if p.name == ".lock" or p in listed or not p.is_file():
            continue
        settled = file_age_days(p, now) > _SETTLE_DAYS
        if everything:
            items.append(PruneItem((p,), "--all"))
        elif ".corrupt-" in p.name:
            items.append(PruneItem((p,), "moved aside as corrupt"))
        elif p.name.endswith(".failed.json"):
            items.append(PruneItem((p,), "build-failure record (the build is retried)"))
        elif ".tmp-" in p.name and settled:
            items.append(PruneItem((p,), "unfinished write"))
        elif p.suffix == ".engine" and settled:
            items.append(PruneItem((p,), "engine without a manifest (interrupted build)"))
    return items


def plan_prune(store: EngineStore, policy: PrunePolicy, now: float | None = None) -> list[PruneItem]:
    now = time.time() if now is None else now
    models = store.models() if policy.model is None else [safe_name(policy.model)]
    items: list[PruneItem] = []
    for model in models:
        folder = store.root / model
        if not folder.is_dir():
            continue
        listed: set[Path] = set()
        for mpath, m in store.manifests(model):
            epath = mpath.with_suffix(".engine")
            listed.update((mpath, epath))
            reason = _entry_reason(m, policy, file_age_days(mpath, now))
            if reason:
                items.append(PruneItem(tuple(p for p in (epath, mpath) if p.exists()), reason))
        items.extend(_strays(folder, listed, policy.everything, now))
    timing = store.root / TIMING_DIR
    if policy.everything and policy.model is None and timing.is_dir():
        items.extend(PruneItem((p,), "--all (timing cache)") for p in sorted(timing.iterdir()) if p.is_file())
    return items


def apply_prune(items: list[PruneItem]) -> int:
    """Delete the planned files; returns the bytes freed."""
    freed = 0
    for item in items:
        for p in item.paths:
            with contextlib.suppress(FileNotFoundError):
                freed += p.stat().st_size
                p.unlink()
    return freed
