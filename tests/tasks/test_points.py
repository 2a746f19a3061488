"""An outline's v1 points: the same JSON bytes and the same dicts as a plain list, from the array."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from edge.errors import EdgeError
from edge.jsonfast import dumps_bytes
from edge.tasks.points import Points, frame_points, plain, points_json
from tests.tasks.kernels import kernel  # noqa: F401  (autouse: each test on both paths)


def _dicts(xy: list[list[float]]) -> list[dict[str, float]]:
    return [{"x": float(x), "y": float(y)} for x, y in xy]


CASES = {
    "empty": [],
    "one vertex": [[3, 4]],
    "whole pixels": [[0, 0], [1279, 0], [1279, 719], [0, 719]],
    "past the first table": [[5000, 9000], [4096, 1]],
    "fractions": [[0.5, 10.25], [1e-7, 3.0], [123.456, 7.0]],
    "past the table's end": [[70000, 1], [2, 3]],
    "negative": [[-1, 5], [2, 3]],
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_same_bytes_and_dicts_as_a_plain_list(name: str) -> None:
    xy = np.array(CASES[name], dtype=np.float64).reshape(-1, 2)
    want = _dicts(CASES[name])
    pts = Points(xy)
    assert points_json(xy) == orjson.dumps(want)
    assert dumps_bytes({"points": pts}) == orjson.dumps({"points": want})
    assert pts == want and want == pts and len(pts) == len(want) and list(pts) == want
    assert json.loads(dumps_bytes([pts, {"p": pts}])) == [want, {"p": want}]
    assert plain({"a": [pts]}) == {"a": [want]} and type(plain({"a": [pts]})["a"][0]) is list


def test_equality_and_slices() -> None:
    a = Points(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert a == Points(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert a != Points(np.array([[1.0, 2.0]]))
    assert a[1] == {"x": 3.0, "y": 4.0} and a[:1] == [{"x": 1.0, "y": 2.0}]
    assert a != "xy" and a != 5


def test_a_non_finite_vertex_is_refused_like_any_float() -> None:
    pts = Points(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError):
        dumps_bytes({"points": pts})
    assert dumps_bytes({"points": pts}, allow_nan=True) == b'{"points":[{"x":1.0,"y":null}]}'


@pytest.mark.parametrize("shape", [(3,), (2, 3), (1, 2, 2)])
def test_points_need_x_y_pairs(shape: tuple[int, ...]) -> None:
    with pytest.raises(EdgeError, match=r"\(k, 2\)"):
        Points(np.zeros(shape))


def test_the_array_cannot_change_under_its_json() -> None:
    xy = np.array([[1.0, 2.0]])
    pts = Points(xy)
    with pytest.raises(ValueError):
        pts.xy[0, 0] = 5.0


@pytest.mark.parametrize("names", [["whole pixels", "empty", "one vertex"], ["whole pixels", "fractions"], ["empty"]])
def test_a_frames_outlines_encode_together_as_each_alone(names: list[str]) -> None:
    outlines = [np.array(CASES[n], dtype=np.float64).reshape(-1, 2) for n in names]
    pts = frame_points(outlines)
    assert dumps_bytes(pts[-1]) == points_json(outlines[-1])  # one encode fills them all
    assert [p.json() for p in pts] == [orjson.dumps(_dicts(CASES[n])) for n in names]
