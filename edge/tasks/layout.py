"""Which output tensor is which, per task, and whether the shapes fit the model's contract.

Checked once on the ONNX file's declared shapes (symbolic dims pass) when a model loads, and
again on the arrays a backend returns, so a mismatched model fails with one line naming the
tensor instead of an IndexError three stages later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from edge.errors import ModelError, OutputShapeError
from edge.models.onnx_file import Dim
from edge.models.spec import ModelSpec, Task


@dataclass(frozen=True)
class OutputLayout:
    """``main`` indexes the predictions tensor; ``protos`` the mask prototypes (segmentation)."""

    main: int
    protos: int | None = None
    mask_dim: int = 0
    kpt_dims: int = 0
    class_offset: int = 0  # semantic: 1 when the network leaves out the background class


def _fits(dim: Dim, want: int) -> bool:
    return not isinstance(dim, int) or dim <= 0 or dim == want


def check_output_shapes(spec: ModelSpec, shapes: Sequence[tuple[str, tuple[Dim, ...]]]) -> OutputLayout:
    task, nc = spec.task, spec.num_classes
    label = task.value
    if not shapes:
        raise ModelError(f"{spec.onnx_path}: the model has no outputs")
    name, shape = shapes[0]

    if task is Task.OBJECT_DETECTION:
        want = f"(batch, {4 + nc}, anchors) = 4 box values + {nc} class scores per anchor"
        if len(shape) != 3 or not _fits(shape[1], 4 + nc):
            raise OutputShapeError(name, want, shape, label)
        return OutputLayout(main=0)

    if task is Task.INSTANCE_SEGMENTATION:
        ranks = {len(s): i for i, (_, s) in enumerate(shapes)}
        if 3 not in ranks or 4 not in ranks:
            found = ", ".join(f"'{n}' {tuple(s)}" for n, s in shapes)
            raise ModelError(
                f"{spec.onnx_path}: an instance-segmentation model needs predictions (batch, 4+{nc}+masks, anchors) "
                f"and prototypes (batch, masks, h, w); found {found}"
            )
        main, protos = ranks[3], ranks[4]
        _, pshape = shapes[protos]
        m = pshape[1]
        mname, mshape = shapes[main]
        if isinstance(m, int) and m > 0 and not _fits(mshape[1], 4 + nc + m):
            raise OutputShapeError(
                mname, f"(batch, {4 + nc + m}, anchors) = 4 + {nc} classes + {m} mask coefficients", mshape, label
            )
        if not isinstance(m, int) or m <= 0:
            m = int(mshape[1]) - 4 - nc if isinstance(mshape[1], int) else 32
        return OutputLayout(main=main, protos=protos, mask_dim=m)

    if task is Task.KEYPOINT_DETECTION:
        k = spec.num_keypoints
        if len(shape) != 3:
            raise OutputShapeError(name, f"(batch, 4+{nc}+{k}x3, anchors)", shape, label)
        rest = shape[1] - 4 - nc if isinstance(shape[1], int) and shape[1] > 0 else 3 * k
        dims = 3 if rest == 3 * k else 2 if rest == 2 * k else 0
        if not dims:
            raise OutputShapeError(
                name, f"(batch, {4 + nc + 3 * k}, anchors) for {k} keypoints of (x, y, conf)", shape, label
            )
        return OutputLayout(main=0, kpt_dims=dims)

    if task is Task.CLASSIFICATION:
        if len(shape) != 2 or not _fits(shape[1], nc):
            raise OutputShapeError(name, f"(batch, {nc}) class scores", shape, label)
        return OutputLayout(main=0)

    # Semantic segmentation: logits (batch, C, H, W) or a class map (batch, H, W).
    if len(shape) == 3:
        return OutputLayout(main=0)
    if len(shape) == 4:
        c = shape[1]
        if _fits(c, nc):
            return OutputLayout(main=0)
        if isinstance(c, int) and c == nc - 1 and spec.class_names[0].lower() == "background":
            return OutputLayout(main=0, class_offset=1)
    raise OutputShapeError(name, f"(batch, {nc}, H, W) logits or (batch, H, W) class ids", shape, label)
