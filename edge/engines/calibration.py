"""INT8 calibration data: images from a folder, preprocessed exactly as the pipeline does.

The folder's content (names and bytes of the images used) and the preprocessing settings are
hashed into the engine key, so adding, removing or editing a calibration image recalibrates,
and an unchanged folder reuses the saved calibration cache.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.preprocess import PreprocessConfig, preprocess

log = logging.getLogger("edge.engines")

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})


def calibration_images(folder: Path, limit: int) -> tuple[Path, ...]:
    """The first ``limit`` images under ``folder`` (recursively), sorted by path."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise EdgeError(
            f"calibration folder {folder} has no images (.jpg, .png, .bmp); add a few hundred frames from your camera"
        )
    return tuple(paths[:limit])


def calibration_sha256(folder: Path, images: Sequence[Path], cfg: PreprocessConfig, batch: int) -> str:
    """Digest of the images' relative names and bytes, the preprocessing and the batch size."""
    h = hashlib.sha256()
    settings = {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(cfg).items()}
    h.update(repr(sorted(settings.items())).encode())
    h.update(f"batch={batch}".encode())
    for p in images:
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


class CalibrationBatches:
    """Float32 NCHW batches of exactly ``batch`` images, as TensorRT's calibrator needs.

    Unreadable images are skipped with a warning; the last partial batch is dropped unless it
    would be the only one, in which case it is filled by repeating images.
    """

    def __init__(self, images: Sequence[Path], cfg: PreprocessConfig, batch: int) -> None:
        if batch < 1:
            raise EdgeError(f"calibration batch must be 1 or more, got {batch}")
        self.images = tuple(images)
        self.cfg = cfg
        self.batch = batch

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.batch, 3, self.cfg.height, self.cfg.width)

    def __len__(self) -> int:
        return max(1, len(self.images) // self.batch)

    def _read(self) -> Iterator[npt.NDArray[np.uint8]]:
        from edge.imageio import read_image

        for p in self.images:
            try:
                yield read_image(p)
            except EdgeError as exc:
                log.warning("calibration: skipping %s (%s)", p, exc)

    def __iter__(self) -> Iterator[npt.NDArray[np.float32]]:
        pending: list[npt.NDArray[np.uint8]] = []
        produced = 0
        for image in self._read():
            pending.append(image)
            if len(pending) == self.batch:
                yield preprocess(pending, self.cfg)[0]
                produced += 1
                pending = []
        if produced == 0 and pending:
            filled = [pending[i % len(pending)] for i in range(self.batch)]
            yield preprocess(filled, self.cfg)[0]
