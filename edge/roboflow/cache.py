"""Pulled packages on disk, each swapped in whole so no reader ever sees half a package.

Layout under the cache root (``<state_dir>/models`` unless ``--dir`` / ``roboflow.cache_dir``)::

    <project>/<version>                 -> .<version>.pkg-XXXX   (a symlink: the stable path)
    <project>/.<version>.pkg-XXXX/      weights.onnx, class_names.txt, ..., .edge-pull.json
    <project>/.<version>.lock           serializes pulls of one model (CLI and daemon)

A pull downloads into a fresh ``.pkg-`` folder beside the target, checks every file, writes
the manifest last and then points the symlink at it with one ``rename``: an interrupted or
refused pull leaves the previous package (or nothing) in place, and a leftover folder is
removed by the next pull. Files that did not change are hard-linked from the previous
package instead of downloaded again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge.fsutil import fsync_dir, fsync_path
from edge.roboflow.client import PullError
from edge.roboflow.protocols import Plan, RemoteFile

MANIFEST = ".edge-pull.json"
_PORTABLE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Manifest:
    """What a pull wrote: enough to tell a complete package, and an unchanged one, apart."""

    model_id: str
    protocol: str
    package_id: str
    files: dict[str, str] = field(default_factory=dict)  # name -> MD5 of what is on disk
    sizes: dict[str, int] = field(default_factory=dict)
    pulled_at: float = 0.0
    checked_at: float = 0.0  # the last time the API confirmed this package


def _segment(text: str) -> str:
    if _PORTABLE.match(text) and text not in (".", ".."):
        return text
    slug = re.sub(r"[^A-Za-z0-9_.\-]", "-", text)[:32].strip(".-") or "x"
    return f"~{slug}-{hashlib.blake2s(text.encode(), digest_size=8).hexdigest()}"


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class PackageCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def dir_for(self, model_id: str) -> Path:
        """The stable path of a model's package (a symlink once pulled)."""
        project, version = model_id.split("/", 1)
        return self.root / _segment(project) / _segment(version)

    def read(self, model_id: str) -> Manifest | None:
        """The manifest of a complete package, or None (absent, torn or edited by hand)."""
        target = self.dir_for(model_id)
        try:
            data = json.loads((target / MANIFEST).read_text())
            manifest = Manifest(**data)
        except (OSError, ValueError, TypeError):
            return None
        for name, size in manifest.sizes.items():
            try:
                if (target / name).stat().st_size != size:
                    return None
            except OSError:
                return None
        return manifest if manifest.model_id == model_id else None

    def unchanged(self, have: Manifest, plan: Plan) -> bool:
        """True when ``plan`` is the package already on disk: nothing to download or rewrite."""
        if (have.protocol, have.package_id) != (plan.protocol, plan.package_id):
            return False
        generated = {name: hashlib.md5(data, usedforsecurity=False).hexdigest() for name, data in plan.generated}
        wanted = {f.name for f in plan.files} | set(generated)
        if wanted != set(have.files):
            return False
        return all(self._reusable(have, f) for f in plan.files) and all(
            have.files[n] == h for n, h in generated.items()
        )

    def touch(self, model_id: str, checked_at: float) -> None:
        """Record that the API confirmed the cached package now."""
        have = self.read(model_id)
        if have is not None:
            _write_manifest(self.dir_for(model_id).resolve(), Manifest(**{**asdict(have), "checked_at": checked_at}))

    @contextmanager
    def lock(self, model_id: str) -> Iterator[None]:
        target = self.dir_for(model_id)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target.parent / f".{target.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise PullError(
                f"cannot write the model cache {self.root}: {exc.strerror}; use another (--dir, roboflow.cache_dir)"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def install(self, plan: Plan, fetch: Callable[[RemoteFile, Path], None], now: float) -> list[str]:
        """Fetch ``plan`` into a new folder and swap it in; the names of the files downloaded."""
        target = self.dir_for(plan.model_id)
        have = self.read(plan.model_id)
        self._sweep(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.pkg-", dir=target.parent))
        try:
            downloaded = self._fill(staging, target, plan, have, fetch)
            files = {p.name: _md5(p) for p in staging.iterdir()}
            sizes = {p.name: p.stat().st_size for p in staging.iterdir()}
            _write_manifest(staging, Manifest(plan.model_id, plan.protocol, plan.package_id, files, sizes, now, now))
            for p in staging.iterdir():
                fsync_path(p)
            fsync_dir(staging)
            os.chmod(staging, 0o755)
            self._point(target, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._sweep(target)
        return downloaded

    def _fill(
        self, staging: Path, target: Path, plan: Plan, have: Manifest | None, fetch: Callable[[RemoteFile, Path], None]
    ) -> list[str]:
        downloaded: list[str] = []
        for f in plan.files:
            dest = staging / f.name
            if have is not None and self._reusable(have, f) and have.protocol == plan.protocol:
                try:
                    os.link(target / f.name, dest)
                except OSError:
                    shutil.copy2(target / f.name, dest)
                continue
            fetch(f, dest)
            downloaded.append(f.name)
        for name, data in plan.generated:
            (staging / name).write_bytes(data)
        return downloaded

    @staticmethod
    def _reusable(have: Manifest, f: RemoteFile) -> bool:
        if f.name not in have.files:
            return False
        # Without an MD5 (protocol A's weights) a model version's file is taken as immutable.
        return f.md5 is None or have.files[f.name] == f.md5.lower()

    @staticmethod
    def _point(target: Path, folder: Path) -> None:
        if target.exists() and not target.is_symlink():
            raise PullError(f"{target} is a folder edge did not write; move it away or use another cache folder")
        link = target.parent / f".{target.name}.link-{folder.name}"
        link.unlink(missing_ok=True)
        os.symlink(folder.name, link)
        os.replace(link, target)  # the one atomic step: readers see the old package or the new
        fsync_dir(target.parent)

    @staticmethod
    def _sweep(target: Path) -> None:
        """Remove folders of earlier or interrupted pulls (the caller holds the lock)."""
        current = os.readlink(target) if target.is_symlink() else None
        for p in target.parent.glob(f".{target.name}.pkg-*"):
            if p.name != current:
                shutil.rmtree(p, ignore_errors=True)
        for p in target.parent.glob(f".{target.name}.link-*"):
            p.unlink(missing_ok=True)


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    tmp = folder / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(asdict(manifest), indent=1, sort_keys=True) + "\n")
    fsync_path(tmp)
    os.replace(tmp, folder / MANIFEST)
