"""One JSON encoder for every published document, spool record and HTTP answer: orjson.

A crowded segmentation frame's v1 document is about a megabyte; ``json.dumps`` spent about
as long on it as the inference did (issue 18), orjson a fraction of that. The output is the
compact form ``json.dumps(separators=(",", ":"), ensure_ascii=False)`` writes, in UTF-8, with
two differences in float spelling that parse to the same numbers: exponents without a
leading zero (``1e-7``, not ``1e-07``) and the shortest repr orjson picks. ``275.0`` stays
``275.0``. An outline's :class:`~edge.tasks.points.Points` are written from their array, as
the same bytes their dicts would give.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from edge.tasks.points import Points

# int keys become strings as json.dumps makes them; everything else is orjson's default.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_bytes(obj: Any, allow_nan: bool = False) -> bytes:
    """``obj`` as compact UTF-8 JSON. Like ``json.dumps(allow_nan=False)``, a NaN or infinity
    raises ValueError (JSON cannot carry them); orjson itself would write ``null``, so a
    document whose output holds a ``null`` is checked again by the standard encoder, which
    raises where one came from a float. With ``allow_nan=True`` they are written as ``null``."""
    data = orjson.dumps(obj, default=_fragment, option=_OPTIONS)
    if not allow_nan and b"null" in data:
        # raises ValueError on a non-finite float; the rare slow path
        json.dumps(obj, allow_nan=False, default=_as_list)
    return data


def _fragment(value: Any) -> orjson.Fragment:
    """An outline's points, written from its array (:mod:`edge.tasks.points`)."""
    if isinstance(value, Points):
        return orjson.Fragment(value.json())
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _as_list(value: Any) -> list[dict[str, float]]:
    if isinstance(value, Points):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
