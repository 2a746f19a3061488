"""The engine cache key: every input that changes what TensorRT builds, and nothing else.

An engine is valid only for the exact ONNX bytes (with those of its external-data files, for
a model over 2 GB saved with ``onnx.external_data_helper``), TensorRT version and GPU it was built with
(a JetPack upgrade changes the TensorRT version, so old engines are simply not found), and
for the precision, DLA core, calibration data, optimization profile, builder flags and
workspace it was built under. The key is a digest of those fields in canonical JSON; the
fields themselves are kept readable in each engine's manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.engines.errors import EngineError

KEY_FORMAT = 1  # bump when the fields or their meaning change: every old engine then rebuilds
KEY_LENGTH = 20  # hex digits of the sha256 kept in file names (80 bits)

Shape = tuple[int, ...]


@dataclass(frozen=True)
class DeviceInfo:
    """What an engine is tied to: the TensorRT version and the GPU model."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: tuple[int, int]

    def __post_init__(self) -> None:
        if not self.tensorrt_version or not self.gpu_name:
            raise EngineError("device info needs a TensorRT version and a GPU name")

    @property
    def capability(self) -> str:
        return f"{self.compute_capability[0]}.{self.compute_capability[1]}"

    @property
    def slug(self) -> str:
        """A file-name-safe id of this TensorRT + GPU pair (timing caches are kept per pair)."""
        gpu = re.sub(r"[^A-Za-z0-9]+", "-", self.gpu_name).strip("-").lower() or "gpu"
        return f"trt{self.tensorrt_version}-{gpu}-sm{self.compute_capability[0]}{self.compute_capability[1]}"


@dataclass(frozen=True)
class EngineKey:
    """The fields that identify one engine. ``profile`` is the (min, opt, max) input shapes."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    dla_core: int | None
    precision: str
    calibration_sha256: str | None
    profile: tuple[Shape, Shape, Shape]
    builder_flags: tuple[str, ...]
    workspace_mib: int | None
    format: int = KEY_FORMAT

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", self.onnx_sha256):
            raise EngineError(f"onnx_sha256 must be 64 hex digits, got {self.onnx_sha256!r}")
        if len(self.profile) != 3 or len({len(s) for s in self.profile}) != 1:
            raise EngineError(f"profile must be three shapes of one rank, got {self.profile}")

    def fields(self) -> dict[str, Any]:
        """The key's fields as plain JSON values, in a fixed order."""
        return {
            "format": self.format,
            "onnx_sha256": self.onnx_sha256,
            "tensorrt_version": self.tensorrt_version,
            "gpu_name": self.gpu_name,
            "compute_capability": self.compute_capability,
            "dla_core": self.dla_core,
            "precision": self.precision,
            "calibration_sha256": self.calibration_sha256,
            "profile": {"min": list(self.profile[0]), "opt": list(self.profile[1]), "max": list(self.profile[2])},
            "builder_flags": list(self.builder_flags),
            "workspace_mib": self.workspace_mib,
        }

    @property
    def digest(self) -> str:
        canonical = json.dumps(self.fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:KEY_LENGTH]

    @classmethod
    def from_fields(cls, d: dict[str, Any]) -> EngineKey:
        """Parse what :meth:`fields` wrote; EngineError on anything malformed."""
        try:
            prof = d["profile"]
            return cls(
                onnx_sha256=str(d["onnx_sha256"]),
                tensorrt_version=str(d["tensorrt_version"]),
                gpu_name=str(d["gpu_name"]),
                compute_capability=str(d["compute_capability"]),
                dla_core=None if d["dla_core"] is None else int(d["dla_core"]),
                precision=str(d["precision"]),
                calibration_sha256=None if d["calibration_sha256"] is None else str(d["calibration_sha256"]),
                profile=(_shape(prof["min"]), _shape(prof["opt"]), _shape(prof["max"])),
                builder_flags=tuple(str(f) for f in d["builder_flags"]),
                workspace_mib=None if d["workspace_mib"] is None else int(d["workspace_mib"]),
                format=int(d["format"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineError(f"malformed engine key fields ({type(exc).__name__}: {exc})") from None


def _shape(v: Any) -> Shape:
    return tuple(int(x) for x in v)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def external_data_locations(onnx_path: Path) -> tuple[str, ...]:
    """The ``location`` of every external-data file the model's tensors refer to, sorted.

    Reads the graph only (not the weights): initializers, sparse initializers, tensor
    attributes (Constant nodes) and subgraphs (If, Loop, Scan) at any depth.
    """
    import onnx

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as exc:  # DecodeError, OSError: a file that is not an ONNX model
        raise EngineError(f"cannot read {onnx_path.name} as an ONNX model: {exc}") from None
    found: set[str] = set()
    graphs = [model.graph]
    while graphs:
        g = graphs.pop()
        tensors = list(g.initializer)
        for sparse in g.sparse_initializer:
            tensors += [sparse.values, sparse.indices]
        for node in g.node:
            for attr in node.attribute:
                tensors += [attr.t, *attr.tensors] if attr.HasField("t") else list(attr.tensors)
                graphs += [attr.g, *attr.graphs] if attr.HasField("g") else list(attr.graphs)
        for t in tensors:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                found.update(e.value for e in t.external_data if e.key == "location")
    return tuple(sorted(found))


class FileHashCache:
    """sha256 of files, remembered while their size and mtime stay the same.

    A daemon asks for the key of every configured model at each start and on every
    configuration reload; rehashing a 100 MB ONNX file each time would cost seconds on a Jetson.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int, int], str] = {}
        self._locations: dict[tuple[str, int, int], tuple[str, ...]] = {}

    @staticmethod
    def _ident(path: Path) -> tuple[str, int, int]:
        st = path.stat()
        return (str(path.resolve()), st.st_size, st.st_mtime_ns)

    def sha256(self, path: Path) -> str:
        ident = self._ident(path)
        with self._lock:
            if ident in self._known:
                return self._known[ident]
        digest = sha256_file(path)
        with self._lock:
            self._known[ident] = digest
        return digest

    def model_sha256(self, onnx_path: Path) -> str:
        """The ONNX file's sha256; for a model with external data, a digest of the file's and
        every external-data file's sha256 (so replacing the weights gives another key)."""
        ident = self._ident(onnx_path)
        with self._lock:
            locations = self._locations.get(ident)
        if locations is None:
            locations = external_data_locations(onnx_path)
            with self._lock:
                self._locations[ident] = locations
        digest = self.sha256(onnx_path)
        if not locations:
            return digest  # the same key as before external data was considered
        h = hashlib.sha256(f"onnx {digest}\n".encode())
        for loc in locations:
            data = onnx_path.parent / loc
            if not data.is_file():
                raise EngineError(
                    f"{onnx_path.name} keeps weights in {loc}, which is missing; put it next to the model file"
                )
            h.update(f"external {loc} {self.sha256(data)}\n".encode())
        return h.hexdigest()


FILE_HASHES = FileHashCache()
