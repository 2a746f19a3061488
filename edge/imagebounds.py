"""Image dimensions read from the encoded header, so a pixel bound is checked before a decoder
allocates (a 1 MB PNG of zeros can declare 30000x30000 pixels: 2.7 GB once decoded).

Pure Python, no pixel is touched: JPEG (SOF markers), PNG (IHDR), GIF, BMP, WebP and TIFF.
Anything else is refused, since its size cannot be known before OpenCV allocates it.
"""

from __future__ import annotations

import struct

from edge.errors import EdgeError

DEFAULT_MAX_PIXELS = 40_000_000  # admits 8K (7680x4320 = 33.2 MP) and a 40 MP photo
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_SCAN_LIMIT = 1024 * 1024  # an SOF further in than this is not looked for


class ImageHeaderError(EdgeError):
    """The encoded data's header cannot be read (not a format whose size edge can check)."""


class TooManyPixels(EdgeError):
    """An image whose header declares more pixels than the bound."""

    def __init__(self, width: int, height: int, limit: int, hint: str = "send a smaller image") -> None:
        super().__init__(
            f"the image is {width}x{height} = {width * height / 1e6:.1f} megapixels, over the limit of "
            f"{limit / 1e6:g} megapixels; {hint}"
        )
        self.width, self.height, self.limit = width, height, limit


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header; ImageHeaderError when the format is unknown or truncated."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return _png(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg(data)
        if data.startswith((b"GIF87a", b"GIF89a")):
            w, h = struct.unpack_from("<HH", data, 6)
            return int(w), int(h)
        if data.startswith(b"BM"):
            return _bmp(data)
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return _webp(data)
        if data.startswith((b"II*\x00", b"MM\x00*")):
            return _tiff(data)
    except struct.error:
        raise ImageHeaderError("the image is truncated: its header is incomplete") from None
    raise ImageHeaderError("not a JPEG, PNG, GIF, BMP, WebP or TIFF image")


def check_pixels(data: bytes, limit: int, hint: str = "send a smaller image") -> tuple[int, int]:
    """The header's (width, height), or TooManyPixels when width*height is over ``limit``."""
    width, height = image_size(data)
    if width * height > limit:
        raise TooManyPixels(width, height, limit, hint)
    return width, height


def _png(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise ImageHeaderError("a PNG without its IHDR header")
    w, h = struct.unpack_from(">II", data, 16)
    return int(w), int(h)


def _jpeg(data: bytes) -> tuple[int, int]:
    i, end = 2, min(len(data), _JPEG_SCAN_LIMIT)
    while i + 4 <= end:
        if data[i] != 0xFF:
            raise ImageHeaderError("a JPEG whose markers are damaged")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7):  # no length
            i += 2
            continue
        (length,) = struct.unpack_from(">H", data, i + 2)
        if marker in _JPEG_SOF:
            h, w = struct.unpack_from(">HH", data, i + 5)
            return int(w), int(h)
        if marker in (0xD9, 0xDA) or length < 2:  # end or scan before any frame header
            break
        i += 2 + length
    raise ImageHeaderError("a JPEG without a frame header (SOF) near its start")


def _bmp(data: bytes) -> tuple[int, int]:
    (header,) = struct.unpack_from("<I", data, 14)
    if header == 12:  # OS/2 BITMAPCOREHEADER
        w, h = struct.unpack_from("<HH", data, 18)
        return int(w), int(h)
    w, h = struct.unpack_from("<ii", data, 18)
    return abs(int(w)), abs(int(h))  # negative height: top-down rows


def _webp(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack_from("<HH", data, 26)
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    if chunk == b"VP8L":
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        b = data[24:30]
        if len(b) < 6:
            raise struct.error
        return 1 + int.from_bytes(b[0:3], "little"), 1 + int.from_bytes(b[3:6], "little")
    raise ImageHeaderError("a WebP without a VP8, VP8L or VP8X chunk")


def _tiff(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, ifd)
    size: dict[int, int] = {}
    for n in range(min(count, 512)):
        tag, kind, _, value = struct.unpack_from(order + "HHI4s", data, ifd + 2 + 12 * n)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT or LONG
            fmt = order + ("H" if kind == 3 else "I")
            size[tag] = int(struct.unpack_from(fmt, value)[0])
    if 256 not in size or 257 not in size:
        raise ImageHeaderError("a TIFF without ImageWidth and ImageLength tags")
    return size[256], size[257]
