"""Image decoding fuzzed: arbitrary bytes and mutated real headers are either an image within
the pixel bound or a clean InputError (400/413), never another exception or a huge decode."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from edge.imagebounds import ImageHeaderError, TooManyPixels, check_pixels, image_size
from edge.serve.inputs import InputError, decode_image, from_body
from tests.bombs import png_of_zeros
from tests.serve.helpers import IMAGE

MAX_PIXELS = 1_000_000  # small, so a bound that does not hold shows as a decoded image over it
_SMALL = cv2.resize(cv2.imread(str(IMAGE)), (64, 48))
REAL = {
    "jpeg": IMAGE.read_bytes(),
    "png": cv2.imencode(".png", _SMALL)[1].tobytes(),
    "bmp": cv2.imencode(".bmp", _SMALL)[1].tobytes(),
    "webp": cv2.imencode(".webp", _SMALL)[1].tobytes(),
    "tiff": cv2.imencode(".tiff", _SMALL)[1].tobytes(),
    "webp-lossless": cv2.imencode(".webp", _SMALL, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes(),
    "bomb": png_of_zeros(3000, 3000),
}
_HEADER = 256  # mutations land in the first bytes, where the sizes are


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real image with a few header bytes replaced, inserted or removed, or cut short."""
    data = bytearray(REAL[draw(st.sampled_from(sorted(REAL)))])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, min(len(data), _HEADER) - 1))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "max"]))
        if kind == "replace":
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:  # a size field set to its largest value
            data[at : at + 2] = b"\xff\xff"
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _decodes_within_bound(data: bytes) -> None:
    try:
        image = decode_image(data, MAX_PIXELS)
    except InputError as exc:
        assert exc.status in (400, 413) and "\n" not in str(exc)
        return
    assert image.dtype == np.uint8 and image.ndim == 3
    assert image.shape[0] * image.shape[1] <= MAX_PIXELS, f"decoded {image.shape} past the header check"
    assert (image.shape[1], image.shape[0]) == image_size(data), "the decoder's size is not the header's"


@given(mutated())
@example(REAL["bomb"][:40])  # a bomb's header with no pixel data at all
@example(b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03")  # a JPEG SOF declaring 65535x65535, nothing else
def test_a_mutated_real_image_decodes_within_the_bound_or_is_refused(data: bytes) -> None:
    _decodes_within_bound(data)


@given(st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_cleanly(data: bytes) -> None:
    _decodes_within_bound(data)


@given(
    st.sampled_from([b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"RIFF", b"II*\x00", b"MM\x00*"]),
    st.binary(max_size=512),
)
def test_a_known_magic_followed_by_anything_is_refused_cleanly(magic: bytes, rest: bytes) -> None:
    data = magic + (rest[:4] + b"WEBP" + rest[4:] if magic == b"RIFF" else rest)
    try:
        width, height = check_pixels(data, MAX_PIXELS)
    except (ImageHeaderError, TooManyPixels):
        return
    assert 0 <= width and 0 <= height and width * height <= MAX_PIXELS
    _decodes_within_bound(data)


@given(st.binary(max_size=1024) | mutated().map(base64.b64encode))
def test_a_body_is_an_image_or_an_input_error(body: bytes) -> None:
    try:
        image = from_body(body, MAX_PIXELS)
    except InputError as exc:
        assert exc.status in (400, 413)
        return
    assert image.shape[0] * image.shape[1] <= MAX_PIXELS


@pytest.mark.parametrize("kind", sorted(REAL))
def test_every_real_image_reads_its_size_from_the_header(kind: str) -> None:
    if kind == "bomb":
        assert image_size(REAL[kind]) == (3000, 3000)
        return
    assert image_size(REAL[kind]) == ((640, 480) if kind == "jpeg" else (64, 48))
