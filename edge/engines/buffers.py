"""The buffer plan: one host and one device buffer per engine I/O tensor, sized in plain Python.

The TensorRT backend describes each tensor by name (mode, TensorRT data type name, shape with
-1 for dynamic axes); this module turns that into numpy dtypes and the largest shape each
buffer must hold, so the allocation code is a loop with nothing left to decide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.errors import ModelError

# TensorRT DataType names -> numpy. BF16, FP8, FP4, INT4 and E8M0 have no numpy type; an engine
# with such an I/O tensor is refused with a message rather than read as garbage.
TRT_TO_NUMPY: dict[str, npt.DTypeLike] = {
    "FLOAT": np.float32,
    "HALF": np.float16,
    "INT8": np.int8,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "BOOL": np.bool_,
}


def numpy_dtype(trt_type: str, tensor: str) -> np.dtype[np.generic]:
    if trt_type not in TRT_TO_NUMPY:
        raise ModelError(
            f"engine tensor '{tensor}' has type {trt_type}, which edge cannot read; "
            "export the model with float32, float16 or integer inputs and outputs"
        )
    return np.dtype(TRT_TO_NUMPY[trt_type])


@dataclass(frozen=True)
class TensorDesc:
    """An engine I/O tensor as TensorRT reports it (``shape`` has -1 for dynamic axes)."""

    name: str
    is_input: bool
    trt_type: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class TensorBuffer:
    """One tensor's buffers: numpy dtype and the largest shape any call will use."""

    name: str
    is_input: bool
    dtype: np.dtype[np.generic]
    max_shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.max_shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize


@dataclass(frozen=True)
class BufferPlan:
    input: TensorBuffer
    outputs: tuple[TensorBuffer, ...]  # in engine order, which is the ONNX output order

    @property
    def tensors(self) -> tuple[TensorBuffer, ...]:
        return (self.input, *self.outputs)


def _max_shape(t: TensorDesc, max_batch: int) -> tuple[int, ...]:
    dims = list(t.shape)
    if dims and dims[0] == -1:
        dims[0] = max_batch
    if any(d < 0 for d in dims):
        raise ModelError(
            f"engine tensor '{t.name}' has shape {t.shape} with a dynamic axis besides the batch; "
            "edge needs outputs whose size is known from the batch (re-export without data-dependent shapes)"
        )
    return tuple(dims)


def plan_buffers(tensors: Sequence[TensorDesc], max_batch: int) -> BufferPlan:
    """Buffers for an engine with one image input and any number of outputs."""
    inputs = [t for t in tensors if t.is_input]
    if len(inputs) != 1:
        names = ", ".join(t.name for t in inputs) or "none"
        raise ModelError(f"expected an engine with one image input, found {len(inputs)}: {names}")
    outputs = [t for t in tensors if not t.is_input]
    if not outputs:
        raise ModelError("the engine has no outputs")
    if max_batch < 1:
        raise ModelError(f"max batch must be 1 or more, got {max_batch}")

    def buf(t: TensorDesc) -> TensorBuffer:
        return TensorBuffer(t.name, t.is_input, numpy_dtype(t.trt_type, t.name), _max_shape(t, max_batch))

    return BufferPlan(buf(inputs[0]), tuple(buf(t) for t in outputs))


def for_decoder(view: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """A copy of an output in what the decoders take: float32 for floating outputs (fp16
    included), int64 for integer class maps, bool as is. A copy, because the pinned buffer
    it came from is overwritten by the next call."""
    if np.issubdtype(view.dtype, np.floating):
        return view.astype(np.float32, copy=True)
    if np.issubdtype(view.dtype, np.integer):
        return view.astype(np.int64, copy=True)
    out: npt.NDArray[np.generic] = view.copy()
    return out
