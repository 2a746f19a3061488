"""The backend interface: run a preprocessed NCHW batch, return the raw output arrays."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge.models.onnx_file import TensorInfo
from edge.preprocess import Geometry, PreprocessConfig, preprocess


class Backend(ABC):
    """One loaded model on one device.

    ``infer`` takes a float32 NCHW batch and returns one array per output, in the order of
    ``outputs``, as float32 (or integer class maps). It is called from one thread at a time.
    """

    name: str = "abstract"
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()

    @abstractmethod
    def infer(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.generic]]: ...

    def infer_images(
        self, images: Sequence[npt.NDArray[np.uint8]], cfg: PreprocessConfig
    ) -> tuple[list[npt.NDArray[np.generic]], list[Geometry]]:
        """Preprocess BGR frames and run them. Backends with device preprocessing override it."""
        batch, geometries = preprocess(images, cfg)
        return self.infer(batch), geometries

    def close(self) -> None:  # noqa: B027 -- optional hook; CPU backends hold nothing to release
        """Release device resources; the backend is unusable afterwards."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
