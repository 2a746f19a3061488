"""Image sizes read from headers, for every format edge decodes, and the pixel bound."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from edge.imagebounds import ImageHeaderError, TooManyPixels, check_pixels, image_size
from tests.bombs import png_of_zeros

IMAGE = np.zeros((37, 53, 3), np.uint8)  # odd sizes, so width and height cannot be swapped unnoticed


@pytest.mark.parametrize("ext", [".jpg", ".png", ".bmp", ".webp", ".tiff"])
def test_the_size_of_every_format_opencv_writes(ext: str) -> None:
    ok, data = cv2.imencode(ext, IMAGE)
    assert ok
    assert image_size(data.tobytes()) == (53, 37)


def test_a_progressive_jpeg_and_a_lossless_webp() -> None:
    progressive = cv2.imencode(".jpg", IMAGE, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    lossless = cv2.imencode(".webp", IMAGE, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()
    assert image_size(progressive) == image_size(lossless) == (53, 37)


HEADERS = {
    "gif": (b"GIF89a" + struct.pack("<HH", 640, 480) + b"\x00" * 8, (640, 480)),
    "bmp top-down": (b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, 800, -600) + b"\x00" * 30, (800, 600)),
    "png bomb": (png_of_zeros(30000, 300)[:40], (30000, 300)),
}


@pytest.mark.parametrize("case", list(HEADERS))
def test_hand_built_headers(case: str) -> None:
    data, size = HEADERS[case]
    assert image_size(data) == size


BAD = {
    "empty": (b"", "not a JPEG, PNG"),
    "text": (b"hello world", "not a JPEG, PNG"),
    "truncated png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00", "truncated"),
    "jpeg without SOF": (b"\xff\xd8\xff\xd9", "without a frame header"),
    "jpeg garbage": (b"\xff\xd8 not really a jpeg", "damaged"),
    "unknown format": (b"P6\n10 10\n255\n" + b"\x00" * 300, "not a JPEG, PNG"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_unreadable_headers_are_one_line_errors(case: str) -> None:
    data, words = BAD[case]
    with pytest.raises(ImageHeaderError, match=words):
        image_size(data)


def test_the_bound_is_width_times_height() -> None:
    data = cv2.imencode(".png", IMAGE)[1].tobytes()
    assert check_pixels(data, 53 * 37) == (53, 37)
    with pytest.raises(TooManyPixels, match=r"53x37 .* over the limit"):
        check_pixels(data, 53 * 37 - 1)
