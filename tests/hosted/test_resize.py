from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from edge.hosted.resize import Fit, fit, shrink, to_frame


@pytest.mark.parametrize(
    ("frame", "limit", "sent"),
    [
        ((640, 480), (320, 320), (320, 240)),  # aspect kept, the longer side at the limit
        ((480, 640), (320, 320), (240, 320)),
        ((1920, 1080), (640, 640), (640, 360)),
        ((1920, 1080), (640, 320), (569, 320)),  # a non-square limit: the tighter side decides
        ((200, 100), (320, 320), (200, 100)),  # never enlarged
        ((641, 480), (640, 640), (640, 479)),
        ((640, 480), None, (640, 480)),  # no limit: as it is
    ],
)
def test_uploads_never_exceed_the_limit_and_keep_the_aspect(
    frame: tuple[int, int], limit: tuple[int, int] | None, sent: tuple[int, int]
) -> None:
    f = fit(*frame, limit)
    assert (f.sent_width, f.sent_height) == sent
    if limit is not None:
        assert f.sent_width <= limit[0] and f.sent_height <= limit[1]
    image = np.zeros((frame[1], frame[0], 3), np.uint8)
    assert shrink(image, f).shape == (sent[1], sent[0], 3)


def png(mask: np.ndarray) -> str:
    return base64.b64encode(cv2.imencode(".png", mask)[1].tobytes()).decode()


def unpng(data: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_UNCHANGED)


def test_keypoints_and_points_scale_per_axis_and_other_fields_stay() -> None:
    doc = {
        "time": 0.1,
        "image": {"width": 100, "height": 50},
        "predictions": [
            {
                "x": 10.0,
                "y": 5.0,
                "width": 4.0,
                "height": 2.0,
                "confidence": 0.9,
                "class": "a",
                "keypoints": [{"x": 1.0, "y": 1.0, "confidence": 0.8, "class": "nose", "class_id": 0}],
            }
        ],
    }
    out = to_frame(doc, Fit(300, 200, 100, 50))  # 3x across, 4x down
    p = out["predictions"][0]
    assert out["image"] == {"width": 300, "height": 200} and out["time"] == 0.1
    assert (p["x"], p["y"], p["width"], p["height"], p["confidence"]) == (30.0, 20.0, 12.0, 8.0, 0.9)
    assert p["keypoints"] == [{"x": 3.0, "y": 4.0, "confidence": 0.8, "class": "nose", "class_id": 0}]
    assert to_frame(doc, Fit(100, 50, 100, 50)) is doc  # sent as it is: nothing to map


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "under-predictions"])
def test_semantic_masks_are_resized_with_nearest_neighbour(nested: bool) -> None:
    small = np.zeros((2, 4), np.uint8)
    small[0, 1], small[1, 3] = 7, 3
    part = {"segmentation_mask": png(small), "class_map": {"0": "bg", "3": "c", "7": "s"}}
    doc = {"image": {"width": 4, "height": 2}, **({"predictions": part} if nested else part)}
    out = to_frame(doc, Fit(8, 4, 4, 2))
    big = unpng(out["predictions"]["segmentation_mask"] if nested else out["segmentation_mask"])
    assert big.shape == (4, 8) and set(np.unique(big)) == {0, 3, 7}  # no blended ids
    assert (big[:2, 2:4] == 7).all() and (big[2:, 6:] == 3).all()
    assert (out["predictions"] if nested else out)["class_map"] == part["class_map"]
