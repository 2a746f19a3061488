from __future__ import annotations

import numpy as np
import pytest

from edge.tracking.geometry import (
    anchor_points,
    normalize_boxes,
    points_in_polygon,
    polygon_problem,
    segments_cross,
    signed_distance,
)

SQUARE = np.array([[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]])


def test_points_in_polygon() -> None:
    pts = np.array([[0.4, 0.4], [0.1, 0.4], [0.7, 0.5], [0.59, 0.21]])
    assert points_in_polygon(pts, SQUARE).tolist() == [True, False, False, True]


def test_concave_polygon_notch_is_outside() -> None:
    u_shape = np.array([[0, 0], [1, 0], [1, 1], [0.7, 1], [0.7, 0.3], [0.3, 0.3], [0.3, 1], [0, 1.0]])
    assert points_in_polygon(np.array([[0.5, 0.8], [0.1, 0.8]]), u_shape).tolist() == [False, True]


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [("bottom_center", [0.3, 0.8]), ("center", [0.3, 0.5]), ("top_center", [0.3, 0.2]), ("bottom_left", [0.2, 0.8])],
)
def test_anchor_points(anchor: str, expected: list[float]) -> None:
    boxes = normalize_boxes(np.array([[64.0, 96, 128, 384]]), 320, 480)
    assert anchor_points(boxes, anchor).tolist() == [pytest.approx(expected)]  # type: ignore[arg-type]


def test_right_hand_side_of_a_left_to_right_line_is_below() -> None:
    a, b = np.array([0.0, 0.5]), np.array([1.0, 0.5])
    assert np.sign(signed_distance(np.array([[0.5, 0.7], [0.5, 0.3]]), a, b)).tolist() == [1.0, -1.0]


def test_segments_cross_only_within_the_drawn_segment() -> None:
    a, b = np.array([0.2, 0.5]), np.array([0.6, 0.5])
    p0 = np.array([[0.4, 0.4], [0.8, 0.4]])
    p1 = np.array([[0.4, 0.6], [0.8, 0.6]])
    assert segments_cross(p0, p1, a, b).tolist() == [True, False]


@pytest.mark.parametrize(
    ("polygon", "problem"),
    [
        ([[0, 0], [1, 0]], "at least 3"),
        ([[0, 0], [1.2, 0], [1, 1]], "within 0-1"),
        ([[0, 0], [1, 1], [1, 0], [0, 1]], "crosses itself"),
        ([[0, 0], [1, 0], [1, 1], [0, 1]], None),
    ],
)
def test_polygon_problem(polygon: list[list[float]], problem: str | None) -> None:
    found = polygon_problem(np.array(polygon, dtype=np.float64))
    assert (found is None) if problem is None else (problem in (found or ""))
