"""Stand-ins for ``tensorrt`` and ``pycuda`` with just the API edge uses, for machines with no GPU.

They behave like the real libraries where edge's logic depends on it (None from a failed
build or deserialization with the reason only in the log, -1 for dynamic axes, shapes that
resolve after ``set_input_shape``, device memory only reachable through copies) and record
what edge asked for, so tests can check the calls without restating the code.
"""

from __future__ import annotations

import ctypes
import enum
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

# Modules that import tensorrt/pycuda at module level: dropped so they re-import the fakes.
_DEPENDENTS = (
    "edge.engines.trt_log",
    "edge.engines.builder",
    "edge.backends.tensorrt",
    "edge.gpu.cuda_preprocess",
    "edge.gpu.context",  # its process-wide context would outlive the fake it was retained from
)


class Severity(enum.IntEnum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


DataType = enum.Enum("DataType", "FLOAT HALF INT8 INT32 BOOL UINT8 INT64 BF16")
TensorIOMode = enum.Enum("TensorIOMode", "NONE INPUT OUTPUT")
BuilderFlag = enum.Enum("BuilderFlag", "FP16 INT8 GPU_FALLBACK")
DeviceType = enum.Enum("DeviceType", "GPU DLA")
MemoryPoolType = enum.Enum("MemoryPoolType", "WORKSPACE")
ErrorCode = enum.Enum("ErrorCode", "SUCCESS UNSUPPORTED_NODE INVALID_NODE")


class NetworkDefinitionCreationFlag(enum.IntEnum):
    EXPLICIT_BATCH = 0


@dataclass
class ParserError:
    node_index: int
    op: str
    name: str
    message: str
    error_code: Any = ErrorCode.UNSUPPORTED_NODE

    def node(self) -> int:
        return self.node_index

    def node_operator(self) -> str:
        return self.op

    def node_name(self) -> str:
        return self.name

    def code(self) -> Any:
        return self.error_code

    def desc(self) -> str:
        return self.message


@dataclass
class EngineSpec:
    """What a fake engine computes: I/O tensors and a function from the input to outputs."""

    tensors: list[tuple[str, Any, Any, tuple[int, ...]]]  # name, mode, DataType, shape (-1 dynamic)
    profile: tuple[tuple[int, ...], ...] | None  # input (min, opt, max) shapes when dynamic
    compute: Callable[[np.ndarray], dict[str, np.ndarray]]


@dataclass
class World:
    """The fake GPU's state: what builds do and record, which engine bytes deserialize."""

    parse_errors: list[ParserError] = field(default_factory=list)
    build_error: str | None = None
    engine_bytes: bytes = b"engine-1"
    dla_cores: int = 2
    phases: list[tuple[str, str | None, int]] = field(default_factory=lambda: [("Building engine", None, 3)])
    timing_accept: bool = True
    engines: dict[bytes, EngineSpec] = field(default_factory=dict)
    configs: list[Any] = field(default_factory=list)
    timing_loaded: list[bytes] = field(default_factory=list)
    calibration_batches: list[np.ndarray] = field(default_factory=list)
    builds: int = 0
    memory: dict[int, bytearray] = field(default_factory=dict)
    next_address: int = 0x10000
    freed: int = 0
    contexts_retained: int = 0
    contexts_released: int = 0
    kernel: Any = None  # the CPU build of the preprocessing kernel, run by the loaded PTX module
    tensorrt_version: str = "10.3.0"  # "8.6.2" looks like JetPack 6.0: no IProgressMonitor
    timing_unusable: bool = False  # create_timing_cache returns None for non-empty bytes
    kernel_load_error: str | None = None  # module_from_buffer raises this (a PTX the driver refuses)
    loaded_ptx: list[bytes] = field(default_factory=list)
    kernel_loads: int = 0  # module_from_buffer calls, failed ones included
    compiles: int = 0  # SourceModule calls: the shipped path must make none
    capability: tuple[int, int] = (8, 7)  # Orin
    context_depth: int = 0  # pushes minus pops of the primary context
    streams_destroyed: list[int] = field(default_factory=list)  # context depth at each stream's end


def make_tensorrt(world: World) -> types.ModuleType:
    trt = types.ModuleType("tensorrt")
    trt.__version__ = world.tensorrt_version  # type: ignore[attr-defined]
    trt.__file__ = "/fake/tensorrt/__init__.py"
    ns: dict[str, Any] = {
        "DataType": DataType,
        "TensorIOMode": TensorIOMode,
        "BuilderFlag": BuilderFlag,
        "DeviceType": DeviceType,
        "MemoryPoolType": MemoryPoolType,
        "NetworkDefinitionCreationFlag": NetworkDefinitionCreationFlag,
        "Dims": lambda shape: tuple(shape),
    }

    class ILogger:
        pass

    ILogger.Severity = Severity  # type: ignore[attr-defined]

    class IProgressMonitor:
        pass

    class IInt8EntropyCalibrator2:
        pass

    ns.update(ILogger=ILogger, IInt8EntropyCalibrator2=IInt8EntropyCalibrator2)
    if int(world.tensorrt_version.split(".")[0]) >= 10:  # TensorRT 8.6 has no progress monitor
        ns.update(IProgressMonitor=IProgressMonitor)
    ns.update(_builder_classes(world))
    ns.update(_runtime_classes(world))
    for k, v in ns.items():
        setattr(trt, k, v)
    return trt


class _Network:
    def __init__(self) -> None:
        self.num_inputs = 1
        self.input_name = "images"

    def get_input(self, i: int) -> Any:
        return types.SimpleNamespace(name=self.input_name)


class _Profile:
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[Any, Any, Any]] = {}

    def set_shape(self, name: str, mn: Any, opt: Any, mx: Any) -> None:
        self.shapes[name] = (mn, opt, mx)


class _TimingCache:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def serialize(self) -> bytes:
        return b"timing:" + str(len(self.data)).encode()


def _builder_classes(world: World) -> dict[str, Any]:
    class Config:
        def __init__(self) -> None:
            self.flags: set[Any] = set()
            self.pools: dict[Any, int] = {}
            self.default_device_type = DeviceType.GPU
            self.DLA_core = -1
            self.profiles: list[_Profile] = []
            self.calibration_profile: _Profile | None = None
            self._calibrator: Any = None
            self.progress_monitor: Any = None
            self.timing: _TimingCache | None = None

        def set_flag(self, flag: Any) -> None:
            self.flags.add(flag)

        def set_memory_pool_limit(self, pool: Any, size: int) -> None:
            self.pools[pool] = size

        def add_optimization_profile(self, p: _Profile) -> int:
            self.profiles.append(p)
            return len(self.profiles) - 1

        # Deprecated since TensorRT 10.1, as a Python DeprecationWarning like the real bindings.
        @property
        def int8_calibrator(self) -> Any:
            return self._calibrator

        @int8_calibrator.setter
        def int8_calibrator(self, value: Any) -> None:
            warnings.warn("Use Explicit Quantization instead.", DeprecationWarning, stacklevel=2)
            self._calibrator = value

        def set_calibration_profile(self, p: _Profile) -> bool:
            warnings.warn("Use Explicit Quantization instead.", DeprecationWarning, stacklevel=2)
            self.calibration_profile = p
            return True

        def create_timing_cache(self, data: bytes) -> _TimingCache | None:
            world.timing_loaded.append(bytes(data))
            if world.timing_unusable and data:
                return None  # the binding's answer to bytes it cannot deserialize
            return _TimingCache(bytes(data))

        def set_timing_cache(self, cache: _TimingCache, ignore_mismatch: bool) -> bool:
            if cache is None:  # pybind11 refuses None for the ITimingCache reference
                raise TypeError("set_timing_cache(): incompatible function arguments")
            ok = world.timing_accept or not cache.data
            self.timing = cache if ok else None
            return ok

        def get_timing_cache(self) -> _TimingCache:
            assert self.timing is not None
            return self.timing

    class OnnxParser:
        def __init__(self, network: _Network, logger: Any) -> None:
            self.num_errors = 0

        def parse_from_file(self, path: str) -> bool:
            self.num_errors = len(world.parse_errors)
            return not world.parse_errors

        def get_error(self, i: int) -> ParserError:
            return world.parse_errors[i]

    class Builder:
        def __init__(self, logger: Any) -> None:
            self.logger = logger
            self.num_DLA_cores = world.dla_cores
            self.platform_has_fast_fp16 = True
            self.platform_has_fast_int8 = True

        def create_network(self, flags: int) -> _Network:
            return _Network()

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> _Profile:
            return _Profile()

        def build_serialized_network(self, network: _Network, config: Config) -> bytes | None:
            world.builds += 1
            world.configs.append(config)
            mon = config.progress_monitor
            for name, parent, steps in world.phases:
                mon.phase_start(name, parent, steps)
                for i in range(steps):
                    if not mon.step_complete(name, i):
                        return None  # TensorRT stops the build when the monitor says so
                mon.phase_finish(name)
            cal = config._calibrator
            if cal is not None and cal.read_calibration_cache() is None:
                while ptrs := cal.get_batch(["images"]):
                    world.calibration_batches.append(_read(world, ptrs[0], cal.get_batch_size()))
                cal.write_calibration_cache(b"calibration-table")
            if world.build_error:
                self.logger.log(Severity.ERROR, world.build_error)
                return None
            return world.engine_bytes

    return {"OnnxParser": OnnxParser, "Builder": Builder}


def _read(world: World, ptr: int, batch: int) -> np.ndarray:
    buf, off = _locate(world, ptr)
    return np.frombuffer(bytes(buf[off:]), dtype=np.float32).copy()


def _locate(world: World, ptr: int) -> tuple[bytearray, int]:
    for base, buf in world.memory.items():
        if base <= ptr < base + len(buf):
            return buf, ptr - base
    raise AssertionError(f"address {ptr:#x} is not in any device allocation")


def _runtime_classes(world: World) -> dict[str, Any]:
    class Context:
        def __init__(self, engine: Engine) -> None:
            self.engine = engine
            self.addresses: dict[str, int] = {}
            self.input_shapes: list[tuple[int, ...]] = []
            t = engine.spec.tensors[0]
            self.input_shape: tuple[int, ...] = t[3] if engine.spec.profile is None else engine.spec.profile[1]

        def set_input_shape(self, name: str, shape: Any) -> bool:
            shape = tuple(shape)
            prof = self.engine.spec.profile
            if prof is None or not all(a <= s <= b for a, s, b in zip(prof[0], shape, prof[2])):
                return False
            self.input_shape = shape
            self.input_shapes.append(shape)
            return True

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            for n, mode, _, shape in self.engine.spec.tensors:
                if n == name:
                    if mode is TensorIOMode.INPUT:
                        return self.input_shape
                    return tuple(self.input_shape[0] if d == -1 else d for d in shape)
            raise KeyError(name)

        def set_tensor_address(self, name: str, address: int) -> bool:
            self.addresses[name] = address
            return True

        def execute_async_v3(self, stream_handle: int) -> bool:
            spec = self.engine.spec
            in_name, _, in_type, _ = spec.tensors[0]
            buf, off = _locate(world, self.addresses[in_name])
            dtype = np.dtype(_NP[in_type])
            count = int(np.prod(self.input_shape))
            x = np.frombuffer(bytes(buf[off : off + count * dtype.itemsize]), dtype=dtype).reshape(self.input_shape)
            for name, value in spec.compute(x).items():
                out_buf, out_off = _locate(world, self.addresses[name])
                raw = np.ascontiguousarray(value).tobytes()
                out_buf[out_off : out_off + len(raw)] = raw
            return True

    class Engine:
        def __init__(self, spec: EngineSpec) -> None:
            self.spec = spec
            self.num_io_tensors = len(spec.tensors)

        def get_tensor_name(self, i: int) -> str:
            return self.spec.tensors[i][0]

        def _t(self, name: str) -> tuple[str, Any, Any, tuple[int, ...]]:
            return next(t for t in self.spec.tensors if t[0] == name)

        def get_tensor_mode(self, name: str) -> Any:
            return self._t(name)[1]

        def get_tensor_dtype(self, name: str) -> Any:
            return self._t(name)[2]

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            return self._t(name)[3]

        def get_tensor_profile_shape(self, name: str, index: int) -> list[tuple[int, ...]]:
            assert self.spec.profile is not None
            return list(self.spec.profile)

        def create_execution_context(self) -> Context:
            return Context(self)

    class Runtime:
        def __init__(self, logger: Any) -> None:
            self.logger = logger

        def deserialize_cuda_engine(self, data: bytes) -> Engine | None:
            spec = world.engines.get(bytes(data))
            if spec is None:
                self.logger.log(
                    Severity.ERROR,
                    "1: [stdArchiveReader.cpp::StdArchiveReader::42] Error Code 1: "
                    "Serialization (Serialization assertion magicTagRead == kMAGIC_TAG failed.)",
                )
                return None
            return Engine(spec)

    return {"Runtime": Runtime}


_NP = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT32: np.int32, DataType.UINT8: np.uint8}


def make_pycuda(world: World) -> tuple[types.ModuleType, types.ModuleType, types.ModuleType]:
    pycuda = types.ModuleType("pycuda")
    driver = types.ModuleType("pycuda.driver")
    compiler = types.ModuleType("pycuda.compiler")
    for m in (pycuda, driver, compiler):
        m.__file__ = f"/fake/{m.__name__.replace('.', '/')}.py"

    class DeviceAllocation:
        def __init__(self, nbytes: int) -> None:
            self.address = world.next_address
            world.next_address += max(nbytes, 1) + 0x1000  # a gap: overruns hit no neighbour
            world.memory[self.address] = bytearray(nbytes)

        def __int__(self) -> int:
            return self.address

        def free(self) -> None:
            del world.memory[self.address]
            world.freed += 1

    class PrimaryCtx:
        def push(self) -> None:
            world.context_depth += 1

        def detach(self) -> None:
            world.contexts_released += 1

    class Device:
        def __init__(self, index: int) -> None:
            pass

        def name(self) -> str:
            return "Orin (fake)"

        def compute_capability(self) -> tuple[int, int]:
            return world.capability

        def retain_primary_context(self) -> PrimaryCtx:
            world.contexts_retained += 1
            return PrimaryCtx()

    def htod(dev: Any, host: np.ndarray, stream: Any = None) -> None:
        buf, off = _locate(world, int(dev))
        raw = np.ascontiguousarray(host).tobytes()
        buf[off : off + len(raw)] = raw

    def dtoh(host: np.ndarray, dev: Any, stream: Any = None) -> None:
        buf, off = _locate(world, int(dev))
        host.reshape(-1).view(np.uint8)[:] = np.frombuffer(bytes(buf[off : off + host.nbytes]), np.uint8)

    def memset(ptr: int, value: int, count: int, stream: Any = None) -> None:
        buf, off = _locate(world, int(ptr))
        buf[off : off + count] = bytes([value]) * count

    def load_module(buffer: bytes, options: Any = None, message_handler: Any = None) -> _KernelModule:
        world.kernel_loads += 1
        if world.kernel_load_error is not None:
            raise RuntimeError(world.kernel_load_error)
        world.loaded_ptx.append(bytes(buffer))
        return _KernelModule(world)

    def pop() -> None:
        assert world.context_depth > 0, "pop without a pushed context"
        world.context_depth -= 1

    class Stream:
        """Records the context depth when it is destroyed: pycuda needs its context current."""

        handle = 7

        def synchronize(self) -> None:
            pass

        def __del__(self) -> None:
            world.streams_destroyed.append(world.context_depth)

    def source_module(source: str, no_extern_c: bool = False) -> _KernelModule:
        world.compiles += 1
        raise RuntimeError("nvcc preprocessing failed: [Errno 2] No such file or directory: 'nvcc'")

    ns: dict[str, Any] = {
        "init": lambda: None,
        "Device": Device,
        "Context": types.SimpleNamespace(pop=pop, get_device=lambda: Device(0)),
        "module_from_buffer": load_module,
        "Stream": Stream,
        "mem_alloc": DeviceAllocation,
        "pagelocked_empty": lambda shape, dtype: np.empty(shape, dtype),
        "memcpy_htod": htod,
        "memcpy_htod_async": htod,
        "memcpy_dtoh_async": dtoh,
        "memset_d8_async": memset,
    }
    for k, v in ns.items():
        setattr(driver, k, v)
    compiler.SourceModule = source_module  # type: ignore[attr-defined]
    pycuda.driver = driver  # type: ignore[attr-defined]
    pycuda.compiler = compiler  # type: ignore[attr-defined]
    return pycuda, driver, compiler


class _KernelModule:
    """A loaded kernel module: runs the CPU build of the kernel on the fake device memory."""

    def __init__(self, world: World) -> None:
        self.world = world

    def get_function(self, name: str) -> Callable[..., None]:
        def launch(src: Any, dst: Any, *scalars: Any, block: Any, grid: Any, stream: Any = None) -> None:
            sbuf, soff = _locate(self.world, int(src))
            dbuf, doff = _locate(self.world, int(dst))
            s_arr = (ctypes.c_char * (len(sbuf) - soff)).from_buffer(sbuf, soff)
            d_arr = (ctypes.c_char * (len(dbuf) - doff)).from_buffer(dbuf, doff)
            args = [s.item() for s in scalars]
            self.world.kernel.edge_cpu_launch(grid[0], grid[1], ctypes.addressof(s_arr), ctypes.addressof(d_arr), *args)

        return launch


def install(monkeypatch: pytest.MonkeyPatch, world: World) -> types.ModuleType:
    """Put the fakes in sys.modules (undone after the test); returns the fake tensorrt."""
    trt = make_tensorrt(world)
    pycuda, driver, compiler = make_pycuda(world)
    for name, mod in (("tensorrt", trt), ("pycuda", pycuda), ("pycuda.driver", driver), ("pycuda.compiler", compiler)):
        monkeypatch.setitem(sys.modules, name, mod)
    for name in _DEPENDENTS:
        monkeypatch.delitem(sys.modules, name, raising=False)
    return trt


def forget_fake_bound_modules() -> None:
    """Drop the edge modules imported against the fakes, so no later test sees them."""
    for name in _DEPENDENTS:
        sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules and getattr(sys.modules[parent], child, None) is not None:
            delattr(sys.modules[parent], child)


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A fake TensorRT + pycuda for the test; the World says what they do and records calls."""
    world = World()
    install(monkeypatch, world)
    yield world
    forget_fake_bound_modules()
