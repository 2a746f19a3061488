"""The v1 ``points`` of one outline, kept as its (k, 2) array and written to JSON from it.

A crowded segmentation frame's outlines have tens of thousands of vertices. Made into the v1
form, a ``{"x": .., "y": ..}`` dict per vertex, and then encoded, they cost about 5 ms of the
frame's CPU (issue 18), although nearly every document only ever goes to JSON. So a
prediction's ``points`` is a :class:`Points`: a read-only sequence of those dicts, built only
if someone reads it (a test, the picture renderer, a user's hook), and encoded by
:mod:`edge.jsonfast` straight from the array, as the same bytes orjson writes for the dicts.

Vertices on whole pixels (every ``accurate`` outline, and the coarser modes' after
:func:`edge.tasks.mask_modes.grid_outlines` places them on pixels) are written from a table
of the numbers' spellings, one lookup per coordinate; any other outline goes through the dicts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import orjson

from edge.errors import EdgeError


class _Spellings:
    """``{"x":N.0,"y":`` and ``N.0},`` for every whole N below a bound, grown on demand: what
    orjson writes for the float N. Shared by every thread; growing swaps in new tables."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.xs = np.empty(0, dtype=object)
        self.ys = np.empty(0, dtype=object)

    def upto(self, top: int) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
        xs, ys = self.xs, self.ys
        if top < len(xs):
            return xs, ys
        with self._lock:
            size = max(4096, 1 << int(top).bit_length())
            if size > len(self.xs):
                self.xs = np.array([b'{"x":%d.0,"y":' % i for i in range(size)], dtype=object)
                self.ys = np.array([b"%d.0}," % i for i in range(size)], dtype=object)
            return self.xs, self.ys


_SPELLINGS = _Spellings()
# A table this long covers an 8K frame many times over; past it the dicts are cheaper.
_MAX_TABLE = 1 << 16


def points_json(xy: npt.NDArray[np.float64]) -> bytes:
    """The JSON of ``[{"x": x, "y": y}, ...]`` for the (k, 2) vertices, as orjson writes it."""
    if not len(xy):
        return b"[]"
    whole = xy.astype(np.int64)
    if whole.min() >= 0 and whole.max() < _MAX_TABLE and np.array_equal(whole, xy):
        xs, ys = _SPELLINGS.upto(int(whole.max()))
        parts = np.empty(2 * len(whole), dtype=object)
        parts[0::2] = xs[whole[:, 0]]
        parts[1::2] = ys[whole[:, 1]]
        body = b"".join(parts.tolist())
        return b"[" + body[:-1] + b"]"  # the last vertex's trailing comma
    return orjson.dumps(_dicts(xy))


def _dicts(xy: npt.NDArray[np.float64]) -> list[dict[str, float]]:
    # Two column lists zipped make no per-vertex [x, y] list, as xy.tolist() does.
    return [{"x": x, "y": y} for x, y in zip(xy[:, 0].tolist(), xy[:, 1].tolist())]


class Points(Sequence[dict[str, float]]):
    """One outline's v1 points: reads as a sequence of ``{"x", "y"}`` dicts, equal to a list of
    the same dicts, and encoded by :func:`edge.jsonfast.dumps_bytes` from the array."""

    __slots__ = ("_dicts", "_json", "xy")

    def __init__(self, xy: npt.NDArray[np.floating]) -> None:
        arr = np.asarray(xy, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise EdgeError(f"points must be a (k, 2) array of x, y, got shape {arr.shape}")
        arr.flags.writeable = False  # the cached JSON and dicts must stay true to it
        self.xy = arr
        self._dicts: list[dict[str, float]] | None = None
        self._json: bytes | None = None

    def json(self) -> bytes:
        if self._json is None:
            self._json = points_json(self.xy)
        return self._json

    def _list(self) -> list[dict[str, float]]:
        if self._dicts is None:
            self._dicts = _dicts(self.xy)
        return self._dicts

    def __len__(self) -> int:
        return len(self.xy)

    @overload
    def __getitem__(self, index: int) -> dict[str, float]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, float]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, float] | list[dict[str, float]]:
        return self._list()[index]

    def __iter__(self) -> Iterator[dict[str, float]]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Points):
            return bool(np.array_equal(self.xy, other.xy))
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so no hash, as a list has none

    def __repr__(self) -> str:
        return f"Points({len(self.xy)} vertices)"


def plain(value: Any) -> Any:
    """``value`` with every :class:`Points` inside made a list of dicts (for encoders that
    know only plain containers: ``json``, ``jsonschema``)."""
    if isinstance(value, Points):
        return list(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
