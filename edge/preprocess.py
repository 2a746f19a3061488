"""Image preprocessing: resize to the network input, colour order, scaling, NCHW batches.

Every resize mode is an axis-aligned affine map from source pixels to network pixels,
``net = src * scale + offset``; :class:`Geometry` keeps it so decoders can map boxes, masks
and keypoints back to the original image with one vectorized expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError


class ResizeMode(str, Enum):
    STRETCH = "stretch"  # to W x H, aspect not kept
    LETTERBOX = "letterbox"  # fit inside, pad the rest with pad_value
    CENTER_CROP = "center-crop"  # no scaling: the centre W x H window, padded if smaller
    FILL_CROP = "fill-crop"  # scale the shorter side to fit, then crop the centre (Ultralytics classify)


@dataclass(frozen=True)
class PreprocessConfig:
    """How an image becomes a network input. ``mean``/``std`` apply after ``/ scaling``."""

    width: int
    height: int
    resize_mode: ResizeMode = ResizeMode.LETTERBOX
    pad_value: int = 114
    rgb: bool = True
    scaling: float = 255.0
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise EdgeError(f"network input size must be positive, got {self.width}x{self.height}")
        if not 0 <= self.pad_value <= 255:
            raise EdgeError(f"pad_value must be within 0..255, got {self.pad_value}")
        if self.scaling <= 0:
            raise EdgeError(f"scaling must be positive, got {self.scaling}")
        if (self.mean is None) != (self.std is None):
            raise EdgeError("normalization needs both mean and std, or neither")
        if self.std is not None and min(self.std) <= 0:
            raise EdgeError(f"normalization std must be positive, got {self.std}")


@dataclass(frozen=True)
class Geometry:
    """Where an image of ``src_w`` x ``src_h`` landed in the network input.

    ``net_xy = src_xy * scale + offset`` per axis. ``offset`` is negative for crops.
    """

    src_w: int
    src_h: int
    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float
    net_w: int
    net_h: int

    def to_source(self, xy: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Map (..., 2) network coordinates to source pixels, clipped to the image."""
        out = (np.asarray(xy, dtype=np.float64) - [self.offset_x, self.offset_y]) / [self.scale_x, self.scale_y]
        return np.clip(out, 0.0, [self.src_w, self.src_h])

    def boxes_to_source(self, xyxy: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Map (n, 4) network xyxy boxes to source pixels, clipped to the image."""
        return self.to_source(np.asarray(xyxy).reshape(-1, 2, 2)).reshape(-1, 4)

    def content_window(self) -> tuple[int, int, int, int]:
        """The (x0, y0, x1, y1) network pixels that hold image content, not padding."""
        x0 = max(0, int(round(self.offset_x)))
        y0 = max(0, int(round(self.offset_y)))
        x1 = min(self.net_w, int(round(self.offset_x + self.src_w * self.scale_x)))
        y1 = min(self.net_h, int(round(self.offset_y + self.src_h * self.scale_y)))
        return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)

    def source_window(self) -> tuple[int, int, int, int]:
        """The (x0, y0, x1, y1) source pixels that the network saw (all of it unless cropped)."""
        x0 = max(0, int(round(-self.offset_x / self.scale_x)))
        y0 = max(0, int(round(-self.offset_y / self.scale_y)))
        x1 = min(self.src_w, int(round((self.net_w - self.offset_x) / self.scale_x)))
        y1 = min(self.src_h, int(round((self.net_h - self.offset_y) / self.scale_y)))
        return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def plan_geometry(src_w: int, src_h: int, cfg: PreprocessConfig) -> Geometry:
    """Where an image of this size lands in the network input under ``cfg``."""
    W, H = cfg.width, cfg.height
    mode = cfg.resize_mode
    if mode is ResizeMode.STRETCH:
        return Geometry(src_w, src_h, W / src_w, H / src_h, 0.0, 0.0, W, H)
    if mode is ResizeMode.CENTER_CROP:
        return Geometry(src_w, src_h, 1.0, 1.0, float((W - src_w) // 2), float((H - src_h) // 2), W, H)
    if mode is ResizeMode.FILL_CROP:
        r = max(W / src_w, H / src_h)
        new_w, new_h = max(W, round(src_w * r)), max(H, round(src_h * r))
        return Geometry(
            src_w, src_h, new_w / src_w, new_h / src_h, -float((new_w - W) // 2), -float((new_h - H) // 2), W, H
        )
    r = min(W / src_w, H / src_h)
    new_w, new_h = max(1, round(src_w * r)), max(1, round(src_h * r))
    # Same split of odd padding as Ultralytics' LetterBox (extra pixel to the right/bottom).
    left, top = round((W - new_w) / 2 - 0.1), round((H - new_h) / 2 - 0.1)
    return Geometry(src_w, src_h, new_w / src_w, new_h / src_h, float(left), float(top), W, H)


def _place(image: npt.NDArray[np.uint8], g: Geometry, pad_value: int) -> npt.NDArray[np.uint8]:
    new_w, new_h = round(g.src_w * g.scale_x), round(g.src_h * g.scale_y)
    if (new_w, new_h) != (g.src_w, g.src_h):
        # Bilinear, as Ultralytics and the hosted API resize.
        image = np.asarray(cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    ox, oy = int(g.offset_x), int(g.offset_y)
    if ox == 0 and oy == 0 and (new_w, new_h) == (g.net_w, g.net_h):
        return image
    canvas = np.full((g.net_h, g.net_w, 3), pad_value, dtype=np.uint8)
    # Source and destination slices of the overlap; negative offsets crop, positive pad.
    sx0, sy0 = max(0, -ox), max(0, -oy)
    dx0, dy0 = max(0, ox), max(0, oy)
    w = min(new_w - sx0, g.net_w - dx0)
    h = min(new_h - sy0, g.net_h - dy0)
    canvas[dy0 : dy0 + h, dx0 : dx0 + w] = image[sy0 : sy0 + h, sx0 : sx0 + w]
    return canvas


def resize_image(image: npt.NDArray[np.uint8], cfg: PreprocessConfig) -> tuple[npt.NDArray[np.uint8], Geometry]:
    """Resize a BGR uint8 (H, W, 3) image to the network size; returns it with its geometry."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise EdgeError(f"expected a BGR uint8 image of shape (H, W, 3), got {image.dtype} {image.shape}")
    g = plan_geometry(image.shape[1], image.shape[0], cfg)
    return _place(image, g, cfg.pad_value), g


def to_tensor(images: Sequence[npt.NDArray[np.uint8]], cfg: PreprocessConfig) -> npt.NDArray[np.float32]:
    """Stack network-size BGR uint8 images into a normalized float32 NCHW batch.

    Channel by channel from contiguous planes: 0.24 ms for a 640x640 frame here (warm heap), against 0.47
    ms for OpenCV's blobFromImages and 1.5 ms for numpy on the interleaved image, with the
    same float32 operations, so the same bits.
    """
    x = np.empty((len(images), 3, cfg.height, cfg.width), dtype=np.float32)
    scale = np.float32(1.0 / cfg.scaling)
    mean = std = None
    if cfg.mean is not None and cfg.std is not None:
        mean, std = np.asarray(cfg.mean, dtype=np.float32), np.asarray(cfg.std, dtype=np.float32)
    for b, image in enumerate(images):
        planes = cv2.split(image)  # B, G, R: contiguous planes, so each channel is one fast pass
        for c, plane in enumerate(planes[::-1] if cfg.rgb else planes):
            dst = x[b, c]
            np.multiply(plane, scale, out=dst, casting="unsafe")  # the same float32 ops as x * scale
            if mean is not None and std is not None:
                dst -= mean[c]
                dst /= std[c]
    return x


def preprocess(
    images: Sequence[npt.NDArray[np.uint8]], cfg: PreprocessConfig
) -> tuple[npt.NDArray[np.float32], list[Geometry]]:
    """Resize and normalize BGR images into one NCHW batch, with each image's geometry."""
    placed = [resize_image(im, cfg) for im in images]
    return to_tensor([p[0] for p in placed], cfg), [p[1] for p in placed]
