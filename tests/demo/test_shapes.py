from __future__ import annotations

import numpy as np
import pytest

from edge.demo.shapes import (
    ARROW_KEYPOINTS,
    HELD_OUT_SIZES,
    SceneKind,
    arrow_geometry,
    draw_scene,
    held_out,
)


@pytest.mark.parametrize("kind", list(SceneKind))
def test_same_seed_same_scene(kind: SceneKind) -> None:
    a = draw_scene(np.random.default_rng(5), 480, 360, kind)
    b = draw_scene(np.random.default_rng(5), 480, 360, kind)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.boxes, b.boxes)


@pytest.mark.parametrize(
    ("kind", "count", "radius"),
    [
        (SceneKind.DETECT, (1, 6), (0.04, 0.17)),
        (SceneKind.POSE, (1, 4), (0.05, 0.17)),
        (SceneKind.CLASSIFY, (1, 1), (0.25, 0.42)),
        (SceneKind.MULTILABEL, (1, 3), (0.12, 0.22)),
    ],
)
def test_object_counts_sizes_and_bounds(kind: SceneKind, count: tuple[int, int], radius: tuple[float, float]) -> None:
    for scene in held_out(11, 24, kind):
        h, w = scene.image.shape[:2]
        s = min(w, h)
        assert count[0] <= len(scene.boxes) <= count[1]
        assert (scene.boxes[:, :2] >= 0).all() and (scene.boxes[:, 2] <= w).all() and (scene.boxes[:, 3] <= h).all()
        for poly in scene.polygons:
            centre = poly.mean(axis=0) if len(poly) != 4 or kind is not SceneKind.POSE else None
            if centre is not None:
                r = np.linalg.norm(poly - centre, axis=1).max()
                assert radius[0] * s - 1 <= r <= radius[1] * s + 1


def test_objects_do_not_overlap() -> None:
    for scene in held_out(3, 16, SceneKind.DETECT):
        masks = scene.instance_masks()
        assert masks.sum(axis=0).max() <= 1


def test_semantic_map_matches_instances() -> None:
    scene = held_out(4, 1, SceneKind.DETECT)[0]
    masks = scene.instance_masks()
    for m, cid in zip(masks, scene.class_ids):
        values = scene.semantic[m]
        assert (values == cid + 1).mean() > 0.97  # background 0, then the shape classes


def test_arrow_keypoints_follow_the_rule() -> None:
    c, r, angle = np.array([100.0, 50.0]), 20.0, np.pi / 2  # pointing down the image
    _, kp = arrow_geometry(c, r, angle)
    tip, right, left = kp
    np.testing.assert_allclose(tip, [100, 70])
    np.testing.assert_allclose(right, [100 - 0.45 * 20, 50 - 10])  # n = (-u_y, u_x) = (-1, 0)
    np.testing.assert_allclose(left, [100 + 0.45 * 20, 50 - 10])
    assert ARROW_KEYPOINTS == ("tip", "right", "left")


def test_fill_contrasts_with_background() -> None:
    for scene in held_out(8, 8, SceneKind.CLASSIFY):
        mask = scene.instance_masks()[0]
        inner = scene.image[mask].astype(float).mean(axis=0)
        ring = scene.image[~mask].astype(float).mean(axis=0)
        assert np.abs(inner - ring).sum() > 60  # well separated (noise and gradients blur the 150 rule)


def test_held_out_cycles_sizes() -> None:
    sizes = [s.image.shape[1::-1] for s in held_out(1, 8, SceneKind.DETECT)]
    assert sizes == [tuple(x) for x in HELD_OUT_SIZES] * 2
