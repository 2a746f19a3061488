from __future__ import annotations

import pytest

from edge.engines.options import BatchProfile
from edge.engines.profile import plan_profile
from edge.errors import ModelError
from edge.models.onnx_file import TensorInfo


@pytest.mark.parametrize(
    ("shape", "batch", "expected_min", "expected_max", "dynamic"),
    [
        (("batch", 3, 640, 640), None, (1, 3, 640, 640), (1, 3, 640, 640), True),
        (("batch", 3, 640, 640), BatchProfile(1, 4, 8), (1, 3, 640, 640), (8, 3, 640, 640), True),
        ((1, 3, 640, 480), None, (1, 3, 640, 480), (1, 3, 640, 480), False),
        ((4, 3, 320, 320), BatchProfile.fixed(4), (4, 3, 320, 320), (4, 3, 320, 320), False),
        # A dynamic height/width takes the preprocessing size the pipeline will feed.
        (("n", 3, "h", "w"), BatchProfile(2, 2, 2), (2, 3, 384, 512), (2, 3, 384, 512), True),
        ((1, 3, 0, 0), None, (1, 3, 384, 512), (1, 3, 384, 512), True),
    ],
)
def test_profile_shapes(
    shape: tuple[int | str, ...],
    batch: BatchProfile | None,
    expected_min: tuple[int, ...],
    expected_max: tuple[int, ...],
    dynamic: bool,
) -> None:
    p = plan_profile(TensorInfo("images", shape, "float32"), batch, (384, 512))
    assert (p.min, p.max, p.dynamic) == (expected_min, expected_max, dynamic)
    assert p.opt[0] == (batch.opt if batch else p.min[0]) and p.opt[1:] == p.min[1:]


@pytest.mark.parametrize(
    ("shape", "batch", "message"),
    [
        (
            (1, 3, 640, 640),
            BatchProfile(1, 4, 8),
            r"fixed batch of 1, so it cannot be built for batch 1:4:8; re-export",
        ),
        (("batch", "c", 640, 640), None, "dynamic channel axis"),
        ((1, 640, 640), None, "expected NCHW"),
    ],
)
def test_profile_errors(shape: tuple[int | str, ...], batch: BatchProfile | None, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        plan_profile(TensorInfo("images", shape, "float32"), batch, (640, 640))
