from __future__ import annotations

import numpy as np
import pytest

from edge.errors import EdgeError
from edge.preprocess import PreprocessConfig, ResizeMode, plan_geometry, preprocess, resize_image, to_tensor


@pytest.mark.parametrize(
    ("mode", "src", "scale", "offset"),
    [
        (ResizeMode.LETTERBOX, (640, 480), (0.5, 0.5), (0.0, 40.0)),  # wide: bars top and bottom
        (ResizeMode.LETTERBOX, (360, 480), (2 / 3, 2 / 3), (40.0, 0.0)),  # tall: bars left and right
        (ResizeMode.LETTERBOX, (320, 320), (1.0, 1.0), (0.0, 0.0)),  # already the network size
        (ResizeMode.STRETCH, (640, 480), (0.5, 320 / 480), (0.0, 0.0)),
        (ResizeMode.CENTER_CROP, (640, 480), (1.0, 1.0), (-160.0, -80.0)),
        (ResizeMode.FILL_CROP, (640, 480), (2 / 3, 2 / 3), (-53.0, 0.0)),
    ],
)
def test_geometry_per_mode(mode: ResizeMode, src: tuple[int, int], scale: tuple[float, float], offset) -> None:
    g = plan_geometry(*src, PreprocessConfig(320, 320, mode))
    assert (g.scale_x, g.scale_y) == pytest.approx(scale, abs=2e-3)
    assert (g.offset_x, g.offset_y) == pytest.approx(offset, abs=1.0)


@pytest.mark.parametrize("mode", list(ResizeMode))
def test_points_map_back_to_the_source(mode: ResizeMode) -> None:
    g = plan_geometry(640, 480, PreprocessConfig(320, 320, mode))
    src = np.array([[100.0, 200.0], [320.0, 240.0], [500.0, 300.0]])
    net = src * [g.scale_x, g.scale_y] + [g.offset_x, g.offset_y]
    np.testing.assert_allclose(g.to_source(net), src, atol=1e-6)


def test_to_source_clips_to_the_image() -> None:
    g = plan_geometry(640, 480, PreprocessConfig(320, 320, ResizeMode.LETTERBOX))
    out = g.to_source(np.array([[-10.0, 5.0], [400.0, 400.0]]))
    assert out.min() >= 0 and (out[:, 0] <= 640).all() and (out[:, 1] <= 480).all()


@pytest.mark.parametrize(("pad", "expected"), [(0, 0), (114, 114), (255, 255)])
def test_letterbox_pads_with_the_configured_value(pad: int, expected: int) -> None:
    img = np.full((100, 200, 3), 7, dtype=np.uint8)
    out, g = resize_image(img, PreprocessConfig(64, 64, ResizeMode.LETTERBOX, pad))
    assert out.shape == (64, 64, 3)
    assert (out[0] == expected).all() and (out[-1] == expected).all()  # bars above and below
    x0, y0, x1, y1 = g.content_window()
    assert (out[y0:y1, x0:x1] == 7).all()


def test_tensor_is_rgb_nchw_scaled() -> None:
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    img[..., 0] = 255  # blue in BGR
    x, _ = preprocess([img, img], PreprocessConfig(8, 8, ResizeMode.STRETCH))
    assert x.shape == (2, 3, 8, 8) and x.dtype == np.float32
    assert x[:, 2].min() == 1.0 and x[:, 0].max() == 0.0  # blue ends up in the last channel


def test_mean_std_normalization() -> None:
    img = np.full((4, 4, 3), 255, dtype=np.uint8)
    cfg = PreprocessConfig(4, 4, ResizeMode.STRETCH, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    x, _ = preprocess([img], cfg)
    np.testing.assert_allclose(x, 1.0)


@pytest.mark.parametrize(
    "cfg",
    [
        PreprocessConfig(6, 5),
        PreprocessConfig(6, 5, rgb=False),
        PreprocessConfig(6, 5, scaling=1.0),
        PreprocessConfig(6, 5, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    ],
)
def test_tensor_is_bit_identical_to_the_plain_formula(cfg: PreprocessConfig) -> None:
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    images = [big[1:6, 2:8], big[4:9, 5:11]]  # views with strides, as crops produce
    ref = np.stack(images)[..., ::-1] if cfg.rgb else np.stack(images)
    ref = ref.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1.0 / cfg.scaling)
    if cfg.mean is not None and cfg.std is not None:
        ref = (ref - np.float32(cfg.mean).reshape(1, 3, 1, 1)) / np.float32(cfg.std).reshape(1, 3, 1, 1)
    x = to_tensor(images, cfg)
    assert x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x, ref)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 0, "height": 10},
        {"width": 10, "height": 10, "pad_value": 300},
        {"width": 10, "height": 10, "mean": (0.1, 0.1, 0.1)},
        {"width": 10, "height": 10, "mean": (0.1, 0.1, 0.1), "std": (0.0, 1.0, 1.0)},
    ],
)
def test_bad_config_is_refused(kwargs: dict) -> None:
    with pytest.raises(EdgeError):
        PreprocessConfig(**kwargs)


def test_non_bgr_image_is_refused() -> None:
    with pytest.raises(EdgeError, match="BGR uint8"):
        resize_image(np.zeros((10, 10), dtype=np.uint8), PreprocessConfig(8, 8))
