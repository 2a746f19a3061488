"""Reading images from disk with errors that say what is wrong."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import ImageError
from edge.imagebounds import DEFAULT_MAX_PIXELS, ImageHeaderError, TooManyPixels, check_pixels


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> npt.NDArray[np.uint8]:
    """A BGR uint8 (H, W, 3) image; EXIF orientation applied, as the hosted API does.
    The header's size is checked against ``max_pixels`` before OpenCV allocates any pixel."""
    p = Path(path)
    if not p.is_file():
        raise ImageError(f"image not found: {p}")
    data = np.fromfile(str(p), dtype=np.uint8)
    try:
        check_pixels(data.tobytes(), max_pixels, "resize it, or pass --max-pixels")
    except TooManyPixels as exc:
        raise ImageError(f"image {p}: {exc}") from None
    except ImageHeaderError as exc:
        raise ImageError(f"cannot decode image {p}: {exc}") from None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageError(f"cannot decode image {p}: not a JPEG, PNG, BMP or other format OpenCV reads")
    return np.asarray(image, dtype=np.uint8)
