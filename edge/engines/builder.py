"""Build a serialized TensorRT 10 engine from a :class:`~edge.engines.compile.BuildRequest`.

The thin layer over TensorRT's Python API: parse the ONNX file (each parser error logged with
its node), configure the builder (workspace, FP16/INT8, DLA with GPU fallback, the optimization
profile, the timing cache), report progress through ``IProgressMonitor``, and turn a None
result into a BuildError carrying TensorRT's own log lines. Everything it decides is decided
before, in plain Python (options, profile, key); see ``compile.py``.

Imports TensorRT at module level: import this module only where TensorRT is required. Raises
TensorRTTooOld on import under TensorRT before 10.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorrt as trt

from edge.engines.calibration import CalibrationBatches
from edge.engines.compile import BuildRequest
from edge.engines.errors import BuildCancelled, BuildError
from edge.engines.options import Precision
from edge.engines.progress import ProgressTracker
from edge.engines.store import atomic_write, move_aside
from edge.engines.trt_log import RecordingLogger
from edge.engines.trt_version import require_supported
from edge.errors import first_line

if TYPE_CHECKING:
    from typing_extensions import Buffer

log = logging.getLogger("edge.engines")

# Before the classes below subclass TensorRT 10 types: TensorRT 8.6 (JetPack 6.0) has no
# IProgressMonitor, and a one-line TensorRTTooOld beats an AttributeError at import.
require_supported(trt)


class ProgressMonitor(trt.IProgressMonitor):
    """Forwards TensorRT's build phases to a :class:`ProgressTracker` (which may cancel)."""

    def __init__(self, tracker: ProgressTracker) -> None:
        trt.IProgressMonitor.__init__(self)
        self._tracker = tracker

    # TensorRT passes None as the parent of a top-level phase, whatever the stubs say.
    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        self._tracker.phase_start(phase_name, parent_phase, num_steps)

    def step_complete(self, phase_name: str, step: int) -> bool:
        return self._tracker.step(phase_name, step)

    def phase_finish(self, phase_name: str) -> None:
        self._tracker.phase_finish(phase_name)


class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
    """Feeds calibration batches to TensorRT through one device buffer, and keeps the
    calibration cache on disk so the next build with the same data skips calibration."""

    def __init__(self, batches: CalibrationBatches, cache: Path) -> None:
        trt.IInt8EntropyCalibrator2.__init__(self)
        import pycuda.driver as cuda

        self._cuda: Any = cuda
        self._batches = batches
        self._iter = iter(batches)
        self._cache = cache
        self._device: Any = cuda.mem_alloc(int(np.prod(batches.shape)) * 4)
        self.done = 0
        self.error: BaseException | None = None  # raised by the builder after TensorRT returns

    def get_batch_size(self) -> int:
        return self._batches.batch

    def get_batch(self, names: list[str]) -> list[int]:
        # An exception must not cross back into TensorRT's C++: keep it, end calibration.
        try:
            batch = next(self._iter)
        except StopIteration:
            return []
        except Exception as exc:
            self.error = exc
            return []
        self._cuda.memcpy_htod(self._device, np.ascontiguousarray(batch, dtype=np.float32))
        self.done += 1
        log.info("calibration batch %d/%d", self.done, len(self._batches))
        return [int(self._device)]

    def read_calibration_cache(self) -> Buffer:
        if self._cache.is_file():
            log.warning("using calibration cache %s", self._cache)
            return self._cache.read_bytes()
        # TensorRT takes None as "no cache, calibrate"; the stubs only allow a buffer.
        return None  # type: ignore[return-value]

    def write_calibration_cache(self, cache: Buffer) -> None:
        atomic_write(self._cache, bytes(memoryview(cache)))
        log.info("saved calibration cache %s", self._cache)

    def free(self) -> None:
        self._device.free()


def describe_parser_error(err: Any) -> str:
    """One line for an ``OnnxParser`` error: node index, operator and name, code, description."""
    node = err.node()
    where = "model"
    if node >= 0:
        name = err.node_name()
        where = f"node {node} ({err.node_operator()}{f' {name!r}' if name else ''})"
    return f"{where}: {err.code().name}: {err.desc()}"


def _parse(builder: trt.Builder, logger: RecordingLogger, req: BuildRequest) -> trt.INetworkDefinition:
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)  # the default in TensorRT 10
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(req.onnx_path)):
        errors = [describe_parser_error(parser.get_error(i)) for i in range(parser.num_errors)]
        for e in errors:
            log.error("%s: TensorRT ONNX parser: %s", req.onnx_path.name, e)
        first = errors[0] if errors else "no error reported"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise BuildError(f"{req.model}: TensorRT cannot parse {req.onnx_path.name}: {first}{more}", errors)
    name = network.get_input(0).name
    if network.num_inputs != 1 or name != req.profile.input_name:
        raise BuildError(f"{req.model}: expected one input '{req.profile.input_name}', TensorRT sees {name!r}")
    return network


def _dims(shape: tuple[int, ...]) -> trt.Dims:
    return trt.Dims(list(shape))


def _set_precision(builder: trt.Builder, config: trt.IBuilderConfig, req: BuildRequest) -> EntropyCalibrator | None:
    p = req.options.precision
    if p in (Precision.FP16, Precision.INT8):
        if not builder.platform_has_fast_fp16:
            log.warning("%s: this GPU has no fast fp16; building fp16 anyway", req.model)
        config.set_flag(trt.BuilderFlag.FP16)
    if p is not Precision.INT8:
        return None
    if not builder.platform_has_fast_int8:
        log.warning("%s: this GPU has no fast int8; building int8 anyway", req.model)
    config.set_flag(trt.BuilderFlag.INT8)
    if req.calibration_cache is None:
        raise BuildError(f"{req.model}: int8 needs calibration images")
    batches = CalibrationBatches(req.calibration_images, req.preprocess, req.profile.opt[0])
    calibrator = EntropyCalibrator(batches, req.calibration_cache)
    # Both calls are deprecated since TensorRT 10.1, through a DeprecationWarning Python hides
    # by default; builds run one at a time, so catching it here touches no other build.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        config.int8_calibrator = calibrator
        if req.profile.dynamic:  # calibration runs at one shape, which TensorRT needs told
            profile = builder.create_optimization_profile()
            shape = _dims(req.profile.opt)
            profile.set_shape(req.profile.input_name, shape, shape, shape)
            config.set_calibration_profile(profile)
    _log_deprecations([w for w in caught if issubclass(w.category, DeprecationWarning)])
    return calibrator


_said: set[str] = set()


def _log_deprecations(found: list[warnings.WarningMessage]) -> None:
    """Say once per process that calibrator INT8 goes away, in TensorRT's words and ours."""
    text = "; ".join(sorted({str(w.message) for w in found}))
    if not text or text in _said:
        return
    _said.add(text)
    log.warning(
        "TensorRT %s: calibrator-based INT8 (int8_calibrator, set_calibration_profile) is deprecated"
        " and removed in TensorRT 11; the replacement is a model quantized explicitly with Q/DQ nodes"
        " (TensorRT says: %s)",
        trt.__version__,
        text,
    )


def _configure(builder: trt.Builder, config: trt.IBuilderConfig, req: BuildRequest) -> None:
    opts = req.options
    if opts.workspace_mib is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, opts.workspace_mib << 20)
    if opts.dla_core is not None:
        cores = builder.num_DLA_cores
        if opts.dla_core >= cores:
            have = f"DLA cores 0..{cores - 1}" if cores else "no DLA"
            raise BuildError(f"{req.model}: DLA core {opts.dla_core} requested, this device has {have}")
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = opts.dla_core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)  # layers the DLA cannot run go to the GPU
    if req.profile.dynamic:
        profile = builder.create_optimization_profile()
        p = req.profile
        profile.set_shape(p.input_name, _dims(p.min), _dims(p.opt), _dims(p.max))
        config.add_optimization_profile(profile)


def _load_timing_cache(config: trt.IBuilderConfig, path: Path) -> None:
    data = path.read_bytes() if path.is_file() else b""
    if data:
        problem = _try_timing_cache(config, data)
        if problem is None:
            log.info("reusing timing cache %s", path)
            return
        # A cache from another TensorRT or GPU, or a damaged file: keep it aside, start afresh.
        try:
            where = f"moved aside to {move_aside(path).name}"
        except OSError as exc:
            where = f"could not move it aside: {exc}"
        log.warning("timing cache %s %s (%s); starting a new one", path, problem, where)
    fresh = config.create_timing_cache(b"")
    if fresh is None or not config.set_timing_cache(fresh, False):
        log.warning("TensorRT refused an empty timing cache; building without one")


def _try_timing_cache(config: trt.IBuilderConfig, data: bytes) -> str | None:
    """None if TensorRT takes ``data`` as the timing cache, else why not.

    ``create_timing_cache`` returns None for bytes it cannot read, and ``set_timing_cache``
    raises when handed that None; either means the same as a refusal: start a fresh cache.
    """
    try:
        cache = config.create_timing_cache(data)
        if cache is None:
            return "is unreadable"
        return None if config.set_timing_cache(cache, False) else "does not fit this TensorRT/GPU"
    except Exception as exc:
        return f"is unreadable ({first_line(exc)})"


def _save_timing_cache(config: trt.IBuilderConfig, path: Path) -> None:
    try:
        atomic_write(path, bytes(memoryview(config.get_timing_cache().serialize())))
    except OSError as exc:  # losing the timing cache only makes the next build slower
        log.warning("could not save timing cache %s: %s", path, exc)


def build_engine(req: BuildRequest, tracker: ProgressTracker) -> bytes:
    """Build ``req`` and return the serialized engine; BuildError (or BuildCancelled) otherwise.

    Runs on any thread. INT8 calibration allocates a pycuda buffer, which needs a current CUDA
    context: the device's primary one, the context TensorRT itself works in.
    """
    if req.options.precision is not Precision.INT8:
        return _build(req, tracker)
    from edge.gpu.context import primary_context

    with primary_context().active():
        return _build(req, tracker)


def _build(req: BuildRequest, tracker: ProgressTracker) -> bytes:
    logger = RecordingLogger()
    mark = logger.mark()
    builder = trt.Builder(logger)
    network = _parse(builder, logger, req)
    config = builder.create_builder_config()
    _configure(builder, config, req)
    _load_timing_cache(config, req.timing_cache)
    config.progress_monitor = ProgressMonitor(tracker)
    calibrator = None
    try:
        calibrator = _set_precision(builder, config, req)
        serialized = builder.build_serialized_network(network, config)
    finally:
        if calibrator is not None:
            calibrator.free()
    if tracker.cancelled:
        raise BuildCancelled(f"{req.model}: build cancelled")
    if calibrator is not None and calibrator.error is not None:
        raise BuildError(f"{req.model}: calibration failed: {calibrator.error}")
    if serialized is None:
        reason = logger.last_error(mark) or "TensorRT returned no engine and logged no error"
        raise BuildError(f"{req.model}: TensorRT build failed: {reason}", logger.since(mark))
    _save_timing_cache(config, req.timing_cache)
    return bytes(memoryview(serialized))
