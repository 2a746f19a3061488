"""What a TensorRT build is asked for: precision, DLA core, workspace, batch profile, calibration.

The same options come from ``edge compile`` flags and from a model's ``tensorrt:`` section in
the daemon's configuration (:meth:`BuildOptions.from_config`); both are validated here, with
one-line errors that name the flag or key to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from edge.errors import EdgeError


class Precision(str, Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"

    @classmethod
    def parse(cls, value: str) -> Precision:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise EdgeError(f"precision must be one of fp32, fp16, int8, got {value!r}") from None


_BATCH = re.compile(r"^\s*(\d+)\s*(?::\s*(\d+)\s*:\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class BatchProfile:
    """The batch sizes an engine accepts: ``min <= opt <= max``; TensorRT tunes for ``opt``."""

    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.opt <= self.max:
            raise EdgeError(f"batch profile must satisfy 1 <= MIN <= OPT <= MAX, got {self}")

    @classmethod
    def fixed(cls, n: int) -> BatchProfile:
        return cls(n, n, n)

    @classmethod
    def parse(cls, text: str) -> BatchProfile:
        """``"N"`` (a fixed batch) or ``"MIN:OPT:MAX"``."""
        m = _BATCH.match(text)
        if not m:
            raise EdgeError(f"batch must be N or MIN:OPT:MAX in whole numbers, like 1:4:8, got {text!r}")
        if m.group(2) is None:
            return cls.fixed(int(m.group(1)))
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)))

    def __str__(self) -> str:
        return f"{self.min}:{self.opt}:{self.max}"


@dataclass(frozen=True)
class BuildOptions:
    """A build request's settings. ``batch=None`` means the model's own batch (fixed, or 1:1:1).

    ``workspace_mib=None`` leaves TensorRT's default (the device's memory). Calibration images
    are read only for INT8, at most ``calibration_images`` of them, sorted by path.
    """

    precision: Precision = Precision.FP16
    dla_core: int | None = None
    workspace_mib: int | None = None
    batch: BatchProfile | None = None
    calibration_dir: Path | None = None
    calibration_images: int = 500

    def __post_init__(self) -> None:
        if self.dla_core is not None and self.dla_core < 0:
            raise EdgeError(f"DLA core must be 0 or more, got {self.dla_core}")
        if self.dla_core is not None and self.precision is Precision.FP32:
            raise EdgeError("the DLA runs fp16 or int8 layers only; use precision fp16 or int8 with a DLA core")
        if self.dla_core is not None and self.batch is not None and self.batch.min != self.batch.max:
            # The DLA has no dynamic shapes: TensorRT would quietly build a GPU engine instead.
            raise EdgeError(
                f"a DLA core needs a fixed batch, got the profile {self.batch}; use one batch size"
                f" (--batch {self.batch.opt}, or batch: {self.batch.opt} in the tensorrt section)"
            )
        if self.workspace_mib is not None and self.workspace_mib <= 0:
            raise EdgeError(f"workspace must be a positive number of MiB, got {self.workspace_mib}")
        if self.calibration_images < 1:
            raise EdgeError(f"calibration_images must be 1 or more, got {self.calibration_images}")
        if self.precision is Precision.INT8 and self.calibration_dir is None:
            raise EdgeError(
                "int8 needs calibration images: give a folder of representative frames"
                " (--calibration DIR, or calibration: in the config)"
            )
        if self.calibration_dir is not None:
            if self.precision is not Precision.INT8:
                raise EdgeError("calibration images are used by int8 only; drop them or use precision int8")
            if not self.calibration_dir.is_dir():
                raise EdgeError(f"calibration folder not found: {self.calibration_dir}")

    @property
    def builder_flags(self) -> tuple[str, ...]:
        """TensorRT BuilderFlag names this build sets, sorted (they are part of the cache key)."""
        flags = set()
        if self.precision in (Precision.FP16, Precision.INT8):
            flags.add("FP16")  # INT8 builds keep FP16 for the layers that have no INT8 kernel
        if self.precision is Precision.INT8:
            flags.add("INT8")
        if self.dla_core is not None:
            flags.add("GPU_FALLBACK")
        return tuple(sorted(flags))

    @classmethod
    def from_config(
        cls, section: Mapping[str, object], where: str = "tensorrt", base_dir: Path | None = None
    ) -> BuildOptions:
        """Options from a configuration mapping; ``where`` names it in errors, ``base_dir``
        resolves a relative calibration folder (the configuration file's folder)."""
        known = ("precision", "dla_core", "workspace_mib", "batch", "calibration", "calibration_images")
        for k in section:
            if k not in known:
                raise EdgeError(f"unknown key {where}.{k}; use one of {', '.join(known)}")
        calibration = None
        if section.get("calibration") is not None:
            calibration = Path(_text(section, "calibration", where)).expanduser()
            if base_dir is not None and not calibration.is_absolute():
                calibration = base_dir / calibration
        batch = None
        if isinstance(section.get("batch"), int):
            batch = BatchProfile.fixed(_whole(section, "batch", where))
        elif section.get("batch") is not None:
            batch = BatchProfile.parse(_text(section, "batch", where))
        return cls(
            precision=Precision.parse(_text(section, "precision", where)) if "precision" in section else Precision.FP16,
            dla_core=_whole(section, "dla_core", where) if section.get("dla_core") is not None else None,
            workspace_mib=_whole(section, "workspace_mib", where) if section.get("workspace_mib") is not None else None,
            batch=batch,
            calibration_dir=calibration,
            calibration_images=_whole(section, "calibration_images", where) if "calibration_images" in section else 500,
        )


def _whole(section: Mapping[str, object], key: str, where: str) -> int:
    v = section[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise EdgeError(f"{where}.{key} must be a whole number, got {v!r}")
    return v


def _text(section: Mapping[str, object], key: str, where: str) -> str:
    v = section[key]
    if not isinstance(v, str):
        raise EdgeError(f"{where}.{key} must be text, got {v!r}")
    return v
