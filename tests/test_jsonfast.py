from __future__ import annotations

import json
import math

import pytest

from edge.jsonfast import dumps_bytes


def _stdlib(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def test_the_bytes_are_what_json_dumps_wrote_for_a_v1_document() -> None:
    doc = {
        "inference_id": None,
        "time": 0.0512,
        "image": {"width": 1280, "height": 720},
        "predictions": [
            {
                "x": 275.0,
                "y": 12.5,
                "width": 3.0,
                "height": 0.1,
                "confidence": 0.8731,
                "class": "hätte-🐟",
                "class_id": 3,
            }
        ],
    }
    assert dumps_bytes(doc) == _stdlib(doc)
    assert b"275.0" in dumps_bytes(doc)


def test_int_keys_become_strings_as_json_dumps_makes_them() -> None:
    assert dumps_bytes({1: "a", "b": 2}) == _stdlib({1: "a", "b": 2})


def test_small_floats_parse_to_the_same_number() -> None:
    assert json.loads(dumps_bytes({"v": 1e-7})) == {"v": 1e-7}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_float_is_refused_unless_allowed(bad: float) -> None:
    with pytest.raises(ValueError):
        dumps_bytes({"a": None, "v": [bad]})
    assert dumps_bytes({"v": bad}, allow_nan=True) == b'{"v":null}'
