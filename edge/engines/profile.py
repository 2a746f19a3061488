"""The optimization profile: the (min, opt, max) input shapes an engine is built for.

TensorRT needs concrete shapes for every dynamic input dimension. The batch axis takes the
batch profile; a dynamic height or width takes the model's preprocessing size (what the
pipeline will feed); a dynamic channel axis cannot be guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.engines.options import BatchProfile
from edge.errors import ModelError
from edge.models.onnx_file import TensorInfo

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ProfileShapes:
    input_name: str
    min: Shape
    opt: Shape
    max: Shape
    dynamic: bool  # the ONNX input has a dynamic axis, so the engine needs this profile

    def __post_init__(self) -> None:
        if not (len(self.min) == len(self.opt) == len(self.max)):
            raise ModelError(f"profile shapes of '{self.input_name}' differ in rank")

    @property
    def batch(self) -> BatchProfile:
        return BatchProfile(self.min[0], self.opt[0], self.max[0])

    def as_tuple(self) -> tuple[Shape, Shape, Shape]:
        return self.min, self.opt, self.max

    def with_batch(self, n: int) -> Shape:
        return (n, *self.opt[1:])


def _fixed(dim: int | str) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def plan_profile(inp: TensorInfo, batch: BatchProfile | None, image_hw: tuple[int, int]) -> ProfileShapes:
    """Profile shapes for an NCHW image input; ``image_hw`` fills a dynamic height/width."""
    if len(inp.shape) != 4:
        raise ModelError(f"input '{inp.name}' has shape {inp.shape}; expected NCHW (4 axes)")
    n, c, h, w = inp.shape
    channels = _fixed(c)
    if channels is None:
        raise ModelError(f"input '{inp.name}' has a dynamic channel axis; re-export it with 3 channels")
    rest = (channels, _fixed(h) or image_hw[0], _fixed(w) or image_hw[1])
    fixed_batch = _fixed(n)
    if fixed_batch is not None:
        if batch is not None and batch != BatchProfile.fixed(fixed_batch):
            raise ModelError(
                f"input '{inp.name}' has a fixed batch of {fixed_batch}, so it cannot be built for batch {batch}; "
                "re-export the model with a dynamic batch axis (dynamic=True)"
            )
        batch = BatchProfile.fixed(fixed_batch)
    batch = batch or BatchProfile.fixed(1)
    dynamic = any(_fixed(d) is None for d in inp.shape)
    return ProfileShapes(inp.name, (batch.min, *rest), (batch.opt, *rest), (batch.max, *rest), dynamic)
