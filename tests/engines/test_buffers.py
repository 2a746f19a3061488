from __future__ import annotations

import numpy as np
import pytest

from edge.engines.buffers import TensorDesc, for_decoder, numpy_dtype, plan_buffers
from edge.errors import ModelError


@pytest.mark.parametrize(
    ("trt_type", "dtype"),
    [
        ("FLOAT", np.float32),
        ("HALF", np.float16),
        ("INT8", np.int8),
        ("INT32", np.int32),
        ("INT64", np.int64),
        ("UINT8", np.uint8),
        ("BOOL", np.bool_),
    ],
)
def test_tensorrt_types_map_to_numpy(trt_type: str, dtype: type) -> None:
    assert numpy_dtype(trt_type, "t") == np.dtype(dtype)


@pytest.mark.parametrize("trt_type", ["BF16", "FP8", "INT4", "FP4"])
def test_types_without_a_numpy_equivalent_are_refused(trt_type: str) -> None:
    with pytest.raises(ModelError, match=f"tensor 'out' has type {trt_type}, which edge cannot read"):
        numpy_dtype(trt_type, "out")


def test_plan_sizes_every_buffer_for_the_largest_batch() -> None:
    plan = plan_buffers(
        [
            TensorDesc("images", True, "FLOAT", (-1, 3, 640, 640)),
            TensorDesc("output0", False, "HALF", (-1, 116, 8400)),
            TensorDesc("output1", False, "FLOAT", (-1, 32, 160, 160)),
            TensorDesc("classes", False, "INT32", (4, 160, 160)),  # already resolved
        ],
        max_batch=4,
    )
    assert plan.input.max_shape == (4, 3, 640, 640) and plan.input.nbytes == 4 * 3 * 640 * 640 * 4
    assert [o.name for o in plan.outputs] == ["output0", "output1", "classes"]
    assert plan.outputs[0].nbytes == 4 * 116 * 8400 * 2  # fp16: two bytes an element
    assert plan.outputs[2].dtype == np.int32 and plan.outputs[2].size == 4 * 160 * 160


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ([TensorDesc("out", False, "FLOAT", (1, 4))], "one image input, found 0"),
        ([TensorDesc("a", True, "FLOAT", (1, 4)), TensorDesc("b", True, "FLOAT", (1, 4))], "found 2: a, b"),
        ([TensorDesc("a", True, "FLOAT", (1, 3, 8, 8))], "no outputs"),
        (
            [TensorDesc("a", True, "FLOAT", (-1, 3, 8, 8)), TensorDesc("nms", False, "FLOAT", (-1, -1, 6))],
            "data-dependent",
        ),
    ],
)
def test_plan_errors(tensors: list[TensorDesc], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        plan_buffers(tensors, 2)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float16, np.float32),
        (np.float32, np.float32),
        (np.int32, np.int64),
        (np.uint8, np.int64),
        (np.int8, np.int64),
        (np.bool_, np.bool_),
    ],
)
def test_outputs_are_converted_for_the_decoders_as_copies(dtype: type, expected: type) -> None:
    buf = np.arange(6).astype(dtype)
    want = buf[:4].astype(expected)
    out = for_decoder(buf[:4])
    buf[:] = 0  # the pinned buffer is reused by the next call: the result must not change
    assert out.dtype == expected
    np.testing.assert_array_equal(out, want)
