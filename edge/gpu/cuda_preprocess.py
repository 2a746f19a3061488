"""Preprocessing on the GPU with pycuda: each frame crosses to the device once, as uint8.

For each frame of a batch: copy it into a pinned staging buffer, start an asynchronous copy
to a device buffer, and launch the kernel that writes the frame's normalized CHW planes
straight into the engine's input buffer. Everything is queued on the caller's stream, so the
copies overlap with the work already queued. Needs a current CUDA context (see ``context``).

The kernel is loaded from the shipped PTX (``edge.gpu.ptx``): no compiler and no writable
home are needed at run time. Construction raises KernelUnavailable when it cannot be loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.gpu.kernel import BLOCK, KERNEL_NAME, KernelParams, grid_for
from edge.gpu.ptx import KernelUnavailable, load_ptx, variant_for
from edge.preprocess import Geometry, PreprocessConfig, plan_geometry


class _Slot:
    """Pinned host and device buffers for one frame of a batch, grown as frames grow."""

    def __init__(self) -> None:
        self.capacity = 0
        self.host: Any = None
        self.device: Any = None

    def ensure(self, cuda: Any, nbytes: int) -> None:
        if nbytes <= self.capacity:
            return
        if self.device is not None:
            self.device.free()
        self.host = cuda.pagelocked_empty(nbytes, np.uint8)
        self.device = cuda.mem_alloc(nbytes)
        self.capacity = nbytes

    def free(self) -> None:
        if self.device is not None:
            self.device.free()
        self.host = self.device = None
        self.capacity = 0


class CudaPreprocessor:
    """Writes preprocessed frames into a device float32 NCHW buffer, one kernel per frame."""

    def __init__(self, cfg: PreprocessConfig) -> None:
        import pycuda.driver as cuda

        self.cfg = cfg
        self._cuda: Any = cuda
        self._module, self._fn = load_kernel(cuda)
        self._slots: list[_Slot] = []
        self._plane_bytes = 3 * cfg.width * cfg.height * 4

    def run(self, images: Sequence[npt.NDArray[np.uint8]], dst: int, stream: Any) -> list[Geometry]:
        """Queue the frames' preprocessing into ``dst`` (a device pointer to batch item 0)."""
        while len(self._slots) < len(images):
            self._slots.append(_Slot())
        geoms = []
        grid = grid_for(self.cfg.width, self.cfg.height)
        for b, image in enumerate(images):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise EdgeError(f"expected a BGR uint8 image of shape (H, W, 3), got {image.dtype} {image.shape}")
            g = plan_geometry(image.shape[1], image.shape[0], self.cfg)
            frame = np.ascontiguousarray(image)
            slot = self._slots[b]
            slot.ensure(self._cuda, frame.nbytes)
            staged = slot.host[: frame.nbytes]
            staged[:] = frame.reshape(-1)
            # The staging buffer of slot b is not reused before the stream is synchronized
            # (at the end of the batch), so the asynchronous copy never reads a newer frame.
            self._cuda.memcpy_htod_async(slot.device, staged, stream)
            params = KernelParams.create(g, self.cfg)
            out = np.uintp(dst + b * self._plane_bytes)
            self._fn(slot.device, out, *params.scalars(), block=BLOCK, grid=grid, stream=stream)
            geoms.append(g)
        return geoms

    def close(self) -> None:
        """Free the buffers and unload the kernel; call it with the context current, since
        pycuda cannot unload a module once its context is gone (it warns and leaks it)."""
        for slot in self._slots:
            slot.free()
        self._slots.clear()
        self._fn = self._module = None


def load_kernel(cuda: Any) -> tuple[Any, Any]:
    """The kernel's module and function in the current context, JIT-compiled by the driver
    from the shipped PTX for this GPU."""
    try:
        major, minor = cuda.Context.get_device().compute_capability()
        module = cuda.module_from_buffer(load_ptx(variant_for((int(major), int(minor)))))
        return module, module.get_function(KERNEL_NAME)
    except KernelUnavailable:
        raise
    except Exception as exc:  # pycuda.driver.Error: the driver refused the PTX (ISA too new, bad file)
        raise KernelUnavailable(f"the CUDA driver cannot load the preprocessing kernel: {exc}") from None
