from __future__ import annotations

import numpy as np
import pytest

from edge.tracking.feed import frame_from_v1, with_tracker_ids

KEYPOINTS = [{"x": 1.0, "y": 2.0, "confidence": 0.8, "class_id": 0, "class": "tip"}]
POINTS = [{"x": 5.0, "y": 5.0}, {"x": 9.0, "y": 5.0}, {"x": 7.0, "y": 9.0}]


def _v1(preds: list[dict[str, object]]) -> dict[str, object]:
    return {"image": {"width": 640, "height": 480}, "predictions": preds}


def test_centre_boxes_of_every_box_task_become_xyxy_and_classes_are_keyed_by_name() -> None:
    preds: list[dict[str, object]] = [
        {
            "x": 100.0,
            "y": 50.0,
            "width": 20.0,
            "height": 10.0,
            "confidence": 0.9,
            "class": "arrow",
            "keypoints": KEYPOINTS,
        },
        {"x": 10.0, "y": 20.0, "width": 4.0, "height": 8.0, "confidence": 0.5, "class": "square", "points": POINTS},
        {"x": 30.0, "y": 30.0, "width": 2.0, "height": 2.0, "confidence": 0.7, "class": "arrow", "class_id": 7},
    ]
    table: dict[str, int] = {"square": 0}
    frame = frame_from_v1(_v1(preds), table)
    np.testing.assert_allclose(frame.detections.xyxy[0], [90, 45, 110, 55])
    np.testing.assert_allclose(frame.detections.xyxy[1], [8, 16, 12, 24])
    assert frame.detections.class_id.tolist() == [1, 0, 1]  # by name, whatever class_id says
    assert frame.class_names == ("arrow", "square", "arrow") and table == {"square": 0, "arrow": 1}
    assert (frame.width, frame.height) == (640, 480)


def test_no_predictions_is_an_empty_frame() -> None:
    assert len(frame_from_v1(_v1([]), {}).detections) == 0


@pytest.mark.parametrize(
    ("v1", "message"),
    [
        ({"predictions": []}, "no image"),
        ({"image": {"width": 0, "height": 480}, "predictions": []}, "not positive"),
        ({"image": {"width": 640, "height": 480}, "predictions": {"cat": {"confidence": 0.9}}}, "must be a list"),
        ({"image": {"width": 640, "height": 480}, "predictions": [{"x": 1.0, "y": 1.0}]}, "lacks"),
    ],
)
def test_documents_without_boxes_are_refused_in_one_line(v1: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        frame_from_v1(v1, {})
    assert "\n" not in str(info.value)


def test_tracker_ids_go_on_confirmed_predictions_of_a_copy() -> None:
    v1 = _v1([{"x": 1.0, "points": POINTS}, {"x": 2.0}])
    out = with_tracker_ids(v1, np.array([4, -1]))
    assert out["predictions"] == [{"x": 1.0, "points": POINTS, "tracker_id": 4}, {"x": 2.0}]
    assert "tracker_id" not in v1["predictions"][0]  # type: ignore[index]
    assert out["image"] == v1["image"]
