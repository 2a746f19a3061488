from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.engines.calibration import CalibrationBatches, calibration_images, calibration_sha256
from edge.errors import EdgeError
from edge.preprocess import PreprocessConfig, preprocess
from tests.engines.common import image_folder

CFG = PreprocessConfig(64, 48)


def test_images_are_found_recursively_sorted_and_limited(tmp_path: Path) -> None:
    image_folder(tmp_path / "b", 2)
    image_folder(tmp_path / "a", 2)
    (tmp_path / "notes.txt").write_text("not an image")
    found = calibration_images(tmp_path, limit=3)
    assert [str(p.relative_to(tmp_path)) for p in found] == ["a/img000.png", "a/img001.png", "b/img000.png"]


def test_a_folder_without_images_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(EdgeError, match=r"has no images .* add a few hundred frames"):
        calibration_images(tmp_path, 10)


def _digest(folder: Path, cfg: PreprocessConfig = CFG, batch: int = 2) -> str:
    return calibration_sha256(folder, calibration_images(folder, 100), cfg, batch)


def test_the_digest_follows_the_data_and_the_preprocessing(tmp_path: Path) -> None:
    folder = image_folder(tmp_path / "c", 3)
    base = _digest(folder)
    assert _digest(folder) == base
    assert _digest(folder, PreprocessConfig(64, 48, rgb=False)) != base
    assert _digest(folder, batch=4) != base
    cv2.imwrite(str(folder / "img001.png"), np.zeros((10, 10, 3), np.uint8))
    edited = _digest(folder)
    assert edited != base
    image_folder(tmp_path / "c", 4)  # one more image (and img001 restored)
    assert _digest(folder) not in (base, edited)


@pytest.mark.parametrize(("count", "batch", "batches"), [(7, 3, 2), (6, 3, 2), (2, 4, 1), (1, 1, 1)])
def test_batches_have_exactly_the_batch_size(tmp_path: Path, count: int, batch: int, batches: int) -> None:
    images = calibration_images(image_folder(tmp_path, count), 100)
    got = list(CalibrationBatches(images, CFG, batch))
    assert len(got) == batches and all(b.shape == (batch, 3, 48, 64) and b.dtype == np.float32 for b in got)


def test_batches_are_preprocessed_as_the_pipeline_does(tmp_path: Path) -> None:
    images = calibration_images(image_folder(tmp_path, 2), 100)
    (first,) = list(CalibrationBatches(images, CFG, 2))
    expected = preprocess([cv2.imread(str(p)) for p in images], CFG)[0]
    np.testing.assert_array_equal(first, expected)


def test_unreadable_images_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = image_folder(tmp_path, 2)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    with caplog.at_level(logging.WARNING):
        got = list(CalibrationBatches(calibration_images(folder, 100), CFG, 1))
    assert len(got) == 2 and "skipping" in caplog.text and "broken.jpg" in caplog.text
