"""From a model and build options to a loaded engine: plan the key, reuse or build, load.

:func:`plan_build` gathers every input of a build into a :class:`BuildRequest` (hashing the
ONNX file and the calibration images for the key). :func:`ensure_engine` returns the cached
engine or builds it under the model's lock, remembering failures. :func:`open_engine` also
deserializes it, and when TensorRT refuses a cached engine, moves it aside and rebuilds once.
The builder itself is a parameter, so all of this runs in tests without TensorRT.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from edge.engines.calibration import calibration_images, calibration_sha256
from edge.engines.errors import BuildCancelled, BuildError, EngineLoadError
from edge.engines.key import FILE_HASHES, DeviceInfo, EngineKey, FileHashCache
from edge.engines.manifest import Manifest
from edge.engines.options import BuildOptions, Precision
from edge.engines.profile import ProfileShapes, plan_profile
from edge.engines.progress import ProgressTracker
from edge.engines.store import EngineStore, safe_name
from edge.errors import first_line
from edge.models.spec import ModelSpec
from edge.preprocess import PreprocessConfig

log = logging.getLogger("edge.engines")

T = TypeVar("T")


@dataclass(frozen=True)
class BuildRequest:
    """Everything one build needs; ``key`` identifies its result in the cache."""

    model: str
    onnx_path: Path
    preprocess: PreprocessConfig
    options: BuildOptions
    profile: ProfileShapes
    device: DeviceInfo
    key: EngineKey
    timing_cache: Path
    calibration_cache: Path | None = None
    calibration_images: tuple[Path, ...] = ()

    @property
    def digest(self) -> str:
        return self.key.digest

    def describe(self) -> str:
        dla = f", DLA core {self.options.dla_core}" if self.options.dla_core is not None else ""
        return f"{self.model} ({self.options.precision.value}, batch {self.profile.batch}{dla}, key {self.digest})"


BuildFn = Callable[[BuildRequest, ProgressTracker], bytes]


def plan_build(
    spec: ModelSpec,
    options: BuildOptions,
    device: DeviceInfo,
    store: EngineStore,
    model: str | None = None,
    hashes: FileHashCache = FILE_HASHES,
) -> BuildRequest:
    """The request (and so the cache key) for building ``spec`` with ``options`` on ``device``."""
    name = safe_name(model or spec.name)
    pre = spec.preprocess
    profile = plan_profile(spec.inputs[0], options.batch, (pre.height, pre.width))
    onnx_sha = hashes.model_sha256(spec.onnx_path)  # with any external-data files
    calib_sha, calib_cache = None, None
    images: tuple[Path, ...] = ()
    if options.precision is Precision.INT8 and options.calibration_dir is not None:
        images = calibration_images(options.calibration_dir, options.calibration_images)
        calib_sha = calibration_sha256(options.calibration_dir, images, pre, profile.opt[0])
        # The calibration table depends on the network, the data and TensorRT, not on the
        # other build settings: one cache serves fp16 fallback, DLA and batch variants alike.
        calib_id = hashlib.sha256(f"{onnx_sha}:{calib_sha}:{device.tensorrt_version}".encode()).hexdigest()[:16]
        calib_cache = store.calibration_cache_path(name, calib_id)
    key = EngineKey(
        onnx_sha256=onnx_sha,
        tensorrt_version=device.tensorrt_version,
        gpu_name=device.gpu_name,
        compute_capability=device.capability,
        dla_core=options.dla_core,
        precision=options.precision.value,
        calibration_sha256=calib_sha,
        profile=profile.as_tuple(),
        builder_flags=options.builder_flags,
        workspace_mib=options.workspace_mib,
    )
    return BuildRequest(
        model=name,
        onnx_path=spec.onnx_path,
        preprocess=pre,
        options=options,
        profile=profile,
        device=device,
        key=key,
        timing_cache=store.timing_cache_path(device),
        calibration_cache=calib_cache,
        calibration_images=images,
    )


@dataclass(frozen=True)
class Obtained:
    """A verified engine: its manifest and bytes, and whether this call built it."""

    manifest: Manifest
    data: bytes
    built: bool
    engine_path: Path


def _build(store: EngineStore, req: BuildRequest, build: BuildFn, tracker: ProgressTracker) -> Obtained:
    log.warning("building TensorRT engine for %s; this takes minutes on a Jetson", req.describe())
    t0 = time.monotonic()
    try:
        data = build(req, tracker)
    except BuildCancelled:
        raise
    except Exception as exc:  # TensorRT and pycuda raise untyped errors; every one is a failed build
        err = exc if isinstance(exc, BuildError) else BuildError(f"{req.model}: build failed: {first_line(exc)[:300]}")
        store.record_failure(req.model, req.digest, str(err), err.details)
        raise err from (None if err is exc else exc)
    if tracker.cancelled:
        raise BuildCancelled(f"{req.model}: build cancelled")
    seconds = time.monotonic() - t0
    manifest = store.put(req.model, req.key, data, seconds, req.onnx_path)
    store.clear_failure(req.model, req.digest)
    log.warning("built %s in %.1f s (%.1f MB)", req.describe(), seconds, len(data) / 1e6)
    return Obtained(manifest, data, True, store.engine_path(req.model, req.digest))


def ensure_engine(
    store: EngineStore,
    req: BuildRequest,
    build: BuildFn,
    tracker: ProgressTracker | None = None,
    *,
    retry_failed: bool = True,
    force: bool = False,
) -> Obtained:
    """The cached engine for ``req``, or a new build of it.

    With ``retry_failed=False`` (the daemon), a key whose last build failed raises that
    failure again instead of rebuilding; a user running ``edge compile`` retries it.
    """
    tracker = tracker or ProgressTracker()
    with store.lock(req.model):  # a second process waiting here finds the first one's engine
        if not force:
            found = store.load(req.model, req.digest)
            if found.manifest is not None and found.data is not None:
                return Obtained(found.manifest, found.data, False, store.engine_path(req.model, req.digest))
        prior = store.failure(req.model, req.digest)
        if prior is not None and not retry_failed:
            raise BuildError(
                f"{req.model}: the last build with these inputs failed ({prior.reason}); "
                "it is retried when the model or its build options change, or by running edge compile",
                prior.details,
            )
        return _build(store, req, build, tracker)


def open_engine(
    store: EngineStore,
    req: BuildRequest,
    build: BuildFn,
    load: Callable[[bytes], T],
    tracker: ProgressTracker | None = None,
    *,
    retry_failed: bool = True,
) -> tuple[T, Obtained]:
    """Ensure and deserialize; a cached engine TensorRT refuses is moved aside and rebuilt once."""
    got = ensure_engine(store, req, build, tracker, retry_failed=retry_failed)
    try:
        return load(got.data), got
    except EngineLoadError as exc:
        if got.built:
            raise  # a fresh build that does not load would fail the same way again
        reason = "\n".join([f"deserialization failed: {exc}", *exc.details])
        store.quarantine(req.model, req.digest, reason)
        log.warning("cached engine %s does not load (%s); moved aside, rebuilding", req.describe(), exc)
    got = ensure_engine(store, req, build, tracker, retry_failed=retry_failed)
    return load(got.data), got
