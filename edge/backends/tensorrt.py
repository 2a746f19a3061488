"""TensorRT 10 on an NVIDIA GPU (Jetson): a cached engine, pinned buffers, one CUDA stream.

``TensorRTBackend(onnx_path, precision="fp16", ...)`` finds the model's engine in the cache
(``edge.engines``), building it first when needed; ``engine=PATH`` loads a given engine file
instead. Every I/O tensor is found by name from the engine, with host (pinned) and device
buffers sized by the buffer plan for the largest batch of the optimization profile.
``infer`` runs a CPU-preprocessed batch; ``infer_images`` preprocesses on the GPU, so each
frame crosses to the device once, as uint8.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pycuda.driver as cuda
import tensorrt as trt

from edge.backends.base import Backend
from edge.engines.buffers import BufferPlan, TensorDesc, for_decoder, plan_buffers
from edge.engines.builder import build_engine
from edge.engines.compile import open_engine, plan_build
from edge.engines.device import detect_device
from edge.engines.errors import EngineLoadError
from edge.engines.options import BatchProfile, BuildOptions, Precision
from edge.engines.paths import default_engine_dir
from edge.engines.progress import ProgressSnapshot, ProgressTracker
from edge.engines.store import EngineStore
from edge.engines.trt_log import RecordingLogger
from edge.errors import EdgeError
from edge.gpu.context import primary_context
from edge.models import load_spec
from edge.models.onnx_file import TensorInfo
from edge.preprocess import Geometry, PreprocessConfig, preprocess

log = logging.getLogger("edge.tensorrt")

Array = npt.NDArray[np.generic]


def _dims(d: trt.Dims) -> tuple[int, ...]:
    return tuple(int(d[i]) for i in range(len(d)))


def _info(name: str, shape: tuple[int, ...], dtype: str, dynamic_batch: bool) -> TensorInfo:
    dims: list[int | str] = list(shape)
    if dynamic_batch:
        dims[0] = "batch"
    return TensorInfo(name, tuple(dims), dtype)


class TensorRTBackend(Backend):
    """One engine, one execution context, one CUDA stream. Called from one thread at a time
    (any thread: the device's primary context is made current around each call)."""

    name = "tensorrt"

    def __init__(
        self,
        onnx_path: Path,
        *,
        engine: str | Path | None = None,
        engine_dir: str | Path | None = None,
        precision: str = "fp16",
        dla_core: int | None = None,
        workspace_mib: int | None = None,
        batch: str | None = None,
        calibration: str | Path | None = None,
        device: int = 0,
        progress: Callable[[ProgressSnapshot], None] | None = None,
    ) -> None:
        self._closed = True  # until everything below exists, close() has nothing to free
        self._ctx = primary_context(device)
        self._logger = RecordingLogger()
        self._pre: Any = None
        self._pre_unavailable = False  # the kernel failed to load once: CPU preprocessing from then on
        self.engine_path: Path | None = Path(engine) if engine is not None else None
        try:
            with self._ctx.active():
                self._runtime = trt.Runtime(self._logger)
                if dla_core is not None:
                    self._runtime.DLA_core = dla_core  # a DLA engine runs on the core the runtime names
                if engine is not None:
                    self._engine = self.deserialize(Path(engine).read_bytes())
                else:
                    options = _build_options(precision, dla_core, workspace_mib, batch, calibration)
                    self._engine = self._from_cache(onnx_path, options, engine_dir, device, progress)
                self._setup()
        except BaseException:
            self._free()
            raise
        self._closed = False

    def deserialize(self, data: bytes) -> trt.ICudaEngine:
        """An engine from its bytes; EngineLoadError with TensorRT's log lines if it refuses."""
        mark = self._logger.mark()
        error = ""
        try:
            engine = self._runtime.deserialize_cuda_engine(data)
        except Exception as exc:  # some TensorRT versions raise rather than return None
            engine, error = None, str(exc)
        if engine is None:
            reason = self._logger.last_error(mark) or error or "TensorRT logged no reason"
            raise EngineLoadError(f"TensorRT cannot deserialize the engine: {reason}", self._logger.since(mark))
        return engine

    def _from_cache(
        self,
        onnx_path: Path,
        options: BuildOptions,
        engine_dir: str | Path | None,
        device: int,
        progress: Callable[[ProgressSnapshot], None] | None,
    ) -> trt.ICudaEngine:
        store = EngineStore(Path(engine_dir) if engine_dir is not None else default_engine_dir())
        req = plan_build(load_spec(onnx_path), options, detect_device(device), store)
        engine, got = open_engine(store, req, build_engine, self.deserialize, ProgressTracker(progress))
        self.engine_path = got.engine_path
        return engine

    def _setup(self) -> None:
        engine = self._engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        if len(inputs) != 1:
            raise EdgeError(f"expected an engine with one image input, found {len(inputs)}: {', '.join(inputs)}")
        self._input = inputs[0]
        self._context = engine.create_execution_context()
        in_shape = _dims(engine.get_tensor_shape(self._input))
        self._dynamic = any(d < 0 for d in in_shape)
        if self._dynamic:
            # The largest shape of profile 0 sizes the buffers; outputs then resolve to theirs.
            in_shape = _dims(engine.get_tensor_profile_shape(self._input, 0)[2])
            if not self._context.set_input_shape(self._input, in_shape):
                raise EdgeError(f"TensorRT rejects input shape {in_shape} of its own profile")
        descs = [self._describe(n, in_shape) for n in names]
        self._plan: BufferPlan = plan_buffers(descs, in_shape[0])
        self._stream: Any = cuda.Stream()
        self._host: dict[str, Any] = {}
        self._device: dict[str, Any] = {}
        for t in self._plan.tensors:
            self._host[t.name] = cuda.pagelocked_empty(t.size, t.dtype)
            self._device[t.name] = cuda.mem_alloc(max(1, t.nbytes))
            if not self._context.set_tensor_address(t.name, int(self._device[t.name])):
                raise EdgeError(f"TensorRT rejects the buffer of tensor '{t.name}'")
        i = self._plan.input
        self.inputs = (_info(i.name, i.max_shape, str(i.dtype), self._dynamic),)
        self.outputs = tuple(
            _info(o.name, o.max_shape, str(for_decoder(np.zeros(0, o.dtype)).dtype), self._dynamic)
            for o in self._plan.outputs
        )

    def _describe(self, name: str, in_shape: tuple[int, ...]) -> TensorDesc:
        is_input = name == self._input
        shape = in_shape if is_input else _dims(self._context.get_tensor_shape(name))
        return TensorDesc(name, is_input, self._engine.get_tensor_dtype(name).name, shape)

    @property
    def max_batch(self) -> int:
        return self._plan.input.max_shape[0]

    def infer(self, batch: npt.NDArray[np.float32]) -> list[Array]:
        self._check_open()
        x = np.asarray(batch)
        want = self._plan.input.max_shape
        if x.ndim != 4 or x.shape[1:] != want[1:]:
            raise EdgeError(f"expected a batch of shape (N, {', '.join(map(str, want[1:]))}), got {x.shape}")
        parts = [self._infer_chunk(x[s : s + self.max_batch]) for s in range(0, len(x), self.max_batch)]
        return _join(parts)

    def _infer_chunk(self, x: Array) -> list[Array]:
        n = len(x)
        inp = self._plan.input
        rows = self._rows(n)
        with self._ctx.active():
            host = self._host[inp.name][: rows * math.prod(inp.max_shape[1:])].reshape(rows, *inp.max_shape[1:])
            host[:n] = x
            host[n:] = 0  # a fixed-batch engine runs full batches: pad, then drop the extra rows
            cuda.memcpy_htod_async(self._device[inp.name], host, self._stream)
            return self._execute(n, rows)

    def infer_images(
        self, images: Sequence[npt.NDArray[np.uint8]], cfg: PreprocessConfig
    ) -> tuple[list[Array], list[Geometry]]:
        """Preprocess BGR frames on the GPU and run them; returns outputs and geometries."""
        self._check_open()
        inp = self._plan.input
        if inp.dtype != np.float32 or inp.max_shape[2:] != (cfg.height, cfg.width) or not self._preprocessor(cfg):
            batch, geoms = preprocess(images, cfg)  # an fp16 or odd-sized input, or no kernel: the CPU path
            return self.infer(batch), geoms
        parts, geoms = [], []
        for s in range(0, len(images), self.max_batch):
            chunk = images[s : s + self.max_batch]
            with self._ctx.active():
                geoms += self._gpu_preprocess(chunk, cfg)
                parts.append(self._execute(len(chunk), self._rows(len(chunk))))
        return _join(parts), geoms

    def _preprocessor(self, cfg: PreprocessConfig) -> bool:
        """Make the GPU preprocessor for ``cfg``; False (said once) if its kernel cannot load."""
        if self._pre_unavailable:
            return False
        if self._pre is not None and self._pre.cfg == cfg:
            return True
        from edge.gpu.cuda_preprocess import CudaPreprocessor

        with self._ctx.active():
            if self._pre is not None:
                self._pre.close()
                self._pre = None
            try:
                self._pre = CudaPreprocessor(cfg)
            except EdgeError as exc:  # KernelUnavailable: never worth retrying for each batch
                self._pre_unavailable = True
                log.warning("%s: preprocessing on the CPU: %s", self._label(), exc)
                return False
        return True

    def _label(self) -> str:
        """The engine as the cache names it (``<model>/<key>.engine``), for log lines."""
        p = self.engine_path
        return f"{p.parent.name}/{p.name}" if p is not None else "TensorRT engine"

    def _gpu_preprocess(self, images: Sequence[npt.NDArray[np.uint8]], cfg: PreprocessConfig) -> list[Geometry]:
        dst = int(self._device[self._plan.input.name])
        geoms: list[Geometry] = self._pre.run(images, dst, self._stream)
        pad_rows = self._rows(len(images)) - len(images)
        if pad_rows:
            plane = 3 * cfg.width * cfg.height * 4
            cuda.memset_d8_async(dst + len(images) * plane, 0, pad_rows * plane, self._stream)
        return geoms

    def _rows(self, n: int) -> int:
        return n if self._dynamic else self.max_batch

    def _execute(self, n: int, rows: int) -> list[Array]:
        """Run the staged input of ``rows`` rows; return the first ``n`` rows of each output."""
        inp = self._plan.input
        if self._dynamic and not self._context.set_input_shape(inp.name, (rows, *inp.max_shape[1:])):
            raise EdgeError(f"batch of {rows} is outside the engine's profile (1..{self.max_batch})")
        mark = self._logger.mark()
        if not self._context.execute_async_v3(self._stream.handle):
            self._stream.synchronize()
            reason = self._logger.last_error(mark) or "no reason logged"
            raise EdgeError(f"TensorRT execution failed: {reason}")
        views = []
        for o in self._plan.outputs:
            shape = _dims(self._context.get_tensor_shape(o.name))
            view = self._host[o.name][: math.prod(shape)]
            cuda.memcpy_dtoh_async(view, self._device[o.name], self._stream)
            views.append(view.reshape(shape))
        self._stream.synchronize()
        return [for_decoder(v[:n]) for v in views]

    def _check_open(self) -> None:
        if self._closed:
            raise EdgeError("the TensorRT backend is closed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._free()

    def _free(self) -> None:
        """Release what exists of the device state, in order; the primary context stays retained."""
        with self._ctx.active():
            if self._pre is not None:
                self._pre.close()
                self._pre = None
            for d in getattr(self, "_device", {}).values():
                d.free()
            self._device = {}
            self._host = {}
            self._stream = None  # destroyed while its context is current, not later by the GC
            # Context before engine before runtime: each holds resources of the next.
            for name in ("_context", "_engine", "_runtime"):
                if hasattr(self, name):
                    delattr(self, name)


def _join(parts: list[list[Array]]) -> list[Array]:
    if len(parts) == 1:
        return parts[0]
    return [np.concatenate(chunks, axis=0) for chunks in zip(*parts)]


def _build_options(
    precision: str, dla_core: int | None, workspace_mib: int | None, batch: str | None, calibration: str | Path | None
) -> BuildOptions:
    return BuildOptions(
        precision=Precision.parse(precision),
        dla_core=dla_core,
        workspace_mib=workspace_mib,
        batch=BatchProfile.parse(batch) if batch else None,
        calibration_dir=Path(calibration).expanduser() if calibration is not None else None,
    )
