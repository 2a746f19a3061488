"""The v1 ``points`` of one outline, kept as its (k, 2) array and written to JSON from it.

A crowded segmentation frame's outlines have tens of thousands of vertices. Made into the v1
form, a ``{"x": .., "y": ..}`` dict per vertex, and then encoded, they cost about 5 ms of the
frame's CPU (issue 18), although nearly every document only ever goes to JSON. So a
prediction's ``points`` is a :class:`Points`: a read-only sequence of those dicts, built only
if someone reads it (a test, the picture renderer, a user's hook), and encoded by
:mod:`edge.jsonfast` straight from the array, as the same bytes orjson writes for the dicts.

Vertices on whole pixels (every ``accurate`` outline) are written by the compiled kernel
(:mod:`edge.tasks.native`) or, without it, from a table of the numbers' spellings, one lookup
per coordinate; any other outline goes through the dicts. The JSON and
the dicts are made once and kept: the array must not change after the Points are made.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import orjson

from edge.errors import EdgeError
from edge.tasks import native


class _Spellings:
    """``{"x":N.0,"y":`` and ``N.0},`` for every whole N below a bound, grown on demand: what
    orjson writes for the float N. Shared by every thread; growing swaps in new tables."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.xs: npt.NDArray[np.object_] = np.empty(0, dtype=object)
        self.ys: npt.NDArray[np.object_] = np.empty(0, dtype=object)

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
    return outlines_json([xy])[0]


def outlines_json(outlines: Sequence[npt.NDArray[np.float64]]) -> list[bytes]:
    """:func:`points_json` of each outline; a frame's outlines on whole pixels in one pass."""
    if native.available():  # one compiled pass per outline; None where it is not on whole pixels
        written = [native.points_json(xy) for xy in outlines]
        return [orjson.dumps(_dicts(xy)) if data is None else data for xy, data in zip(outlines, written)]
    lens = [len(xy) for xy in outlines]
    if not any(lens):
        return [b"[]" for _ in outlines]
    every = np.concatenate([xy for xy in outlines if len(xy)])
    with np.errstate(invalid="ignore"):  # NaN and infinity are not whole: the dicts' path says so
        whole = every.astype(np.int64)
    if not (whole.min() >= 0 and whole.max() < _MAX_TABLE and np.array_equal(whole, every)):
        return [orjson.dumps(_dicts(xy)) for xy in outlines]
    xs, ys = _SPELLINGS.upto(int(whole.max()))
    parts = np.empty(2 * len(whole), dtype=object)
    parts[0::2] = xs[whole[:, 0]]
    parts[1::2] = ys[whole[:, 1]]
    spelled = parts.tolist()
    out: list[bytes] = []
    at = 0
    for k in lens:
        if not k:
            out.append(b"[]")
            continue
        body = b"".join(spelled[2 * at : 2 * (at + k)])
        out.append(b"[" + body[:-1] + b"]")  # the last vertex's trailing comma
        at += k
    return out


def _dicts(xy: npt.NDArray[np.float64]) -> list[dict[str, float]]:
    # Two column lists zipped make no per-vertex [x, y] list, as xy.tolist() does.
    return [{"x": x, "y": y} for x, y in zip(xy[:, 0].tolist(), xy[:, 1].tolist())]


class Points(Sequence[dict[str, float]]):
    """One outline's v1 points: reads as a sequence of ``{"x", "y"}`` dicts, equal to a list of
    the same dicts, and encoded by :func:`edge.jsonfast.dumps_bytes` from the array."""

    __slots__ = ("_batch", "_dicts", "_json", "xy")

    def __init__(self, xy: npt.NDArray[np.floating], batch: _Batch | None = None) -> None:
        arr = np.asarray(xy, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise EdgeError(f"points must be a (k, 2) array of x, y, got shape {arr.shape}")
        arr = arr.view()  # read-only here; the caller's own array keeps its flags
        arr.flags.writeable = False
        self.xy = arr
        self._dicts: list[dict[str, float]] | None = None
        self._json: bytes | None = None
        self._batch = batch

    def json(self) -> bytes:
        if self._json is None:
            if self._batch is not None:
                self._batch.encode()  # sets every member's _json, this one's included
            else:
                self._json = points_json(self.xy)
        assert self._json is not None
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


class _Batch:
    """A frame's outlines, encoded together the first time one of them is."""

    def __init__(self) -> None:
        self.members: list[Points] = []
        self._lock = threading.Lock()  # a result can be encoded by two sinks at once

    def encode(self) -> None:
        with self._lock:
            if self.members and self.members[0]._json is None:
                for member, data in zip(self.members, outlines_json([m.xy for m in self.members])):
                    member._json = data


def frame_points(outlines: Sequence[npt.NDArray[np.floating]]) -> list[Points]:
    """One :class:`Points` per outline, sharing one encoding pass for the frame."""
    batch = _Batch()
    batch.members = [Points(xy, batch) for xy in outlines]
    return batch.members


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
