"""COCO run-length encoding of instance masks, as pycocotools writes it, without pycocotools.

A COCO RLE describes a whole ``H x W`` frame: ``counts`` are the lengths of alternating runs of
0s and 1s (0s first, so the first count may be 0) over the frame flattened **column-major**
(down each column, then the next column). The compressed string form (pycocotools'
``rleToString``) stores each count, from the fourth on as the difference to the count two
before, in groups of 5 bits, least significant first, each group + 48 as one ASCII character,
bit 0x20 meaning "another group follows" and bit 0x10 of the last group the sign.

The hosted API sends ``rle: {"size": [H, W], "counts": "<that string>"}`` (its
``inference_models`` path encodes with pycocotools). Here a mask is encoded from its box-local
crop (:class:`~edge.tasks.mask_crops.MaskCrops`): the runs are the crop's column transitions
shifted by the crop's offset, so the cost follows the box, not the frame; decoding gives a
crop again. Both are vectorised (no per-character Python loop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import EdgeError
from edge.tasks import native
from edge.tasks.mask_crops import MaskCrops, mask_to_polygon

_GROUP_BITS = 5
_MAX_GROUPS = 13  # 64-bit counts: ceil(64 / 5)


@dataclass(frozen=True)
class Rle:
    """One mask as COCO RLE: ``counts`` over the ``height`` x ``width`` frame, column-major."""

    height: int
    width: int
    counts: npt.NDArray[np.int64]

    def to_v1(self) -> dict[str, Any]:
        return {"size": [int(self.height), int(self.width)], "counts": counts_to_string(self.counts)}

    @classmethod
    def from_v1(cls, rle: object) -> Rle:
        """From the v1 item's ``rle``: compressed (a string) or uncompressed (a list) counts."""
        if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
            raise EdgeError('a v1 rle must be {"size": [H, W], "counts": "..."}')
        size = rle["size"]
        if not isinstance(size, (list, tuple)) or len(size) != 2:
            raise EdgeError(f"a v1 rle's size must be [H, W], got {size!r}")
        h, w = int(size[0]), int(size[1])
        raw = rle["counts"]
        if isinstance(raw, (str, bytes)):
            counts = counts_from_string(raw if isinstance(raw, bytes) else raw.encode("ascii", "replace"))
        elif isinstance(raw, list):
            counts = np.asarray(raw, dtype=np.int64)
        else:
            raise EdgeError("a v1 rle's counts must be a string or a list of run lengths")
        if (counts < 0).any() or int(counts.sum()) != h * w:
            raise EdgeError(f"a v1 rle's runs must add up to its {h}x{w} frame, got {int(counts.sum())} pixels")
        return cls(h, w, counts)


def encode_crop(crop: npt.NDArray[np.bool_], x0: int, y0: int, width: int, height: int) -> Rle:
    """The RLE of a ``width`` x ``height`` frame that is ``crop`` at (x0, y0) and 0 elsewhere."""
    return Rle(height, width, counts_from_bounds(crop_bounds(crop, x0, y0, height), width, height))


def crop_bounds(crop: npt.NDArray[np.bool_], x0: int, y0: int, height: int) -> npt.NDArray[np.int64]:
    """Where the crop's runs of 1s start and end in the frame's column-major order (unsorted)."""
    h, w = crop.shape
    if not crop.size:
        return np.zeros(0, dtype=np.int64)
    # Where a column changes between row r - 1 and row r (rows -1 and h count as 0), found in
    # the crop's own row-major order (no transposed copy); sorted into column-major order, the
    # few changes alternate down each column: starts (0 -> 1) and ends (1 -> 0).
    change = np.empty((h + 1, w), dtype=bool)
    change[0] = crop[0]
    change[h] = crop[h - 1]
    np.not_equal(crop[1:], crop[:-1], out=change[1:h])
    row, col = np.divmod(np.flatnonzero(change), w)
    bounds: npt.NDArray[np.int64] = (col + x0) * height + (row + y0)
    return bounds


def counts_from_bounds(bounds: npt.NDArray[np.int64], width: int, height: int) -> npt.NDArray[np.int64]:
    """The counts of a mask given where its runs of 1s start and end in the frame's
    column-major order (positions in any order: sorted, they alternate start, end)."""
    # A run down to the foot of one column and one from the top of the next meet (an end equal
    # to the next start), and a grid cell no frame pixel falls in gives an empty run: equal
    # neighbours cancel in pairs, so keep each position an odd number of times.
    at, times = np.unique(bounds, return_counts=True)
    bounds = at[times % 2 == 1]
    if not len(bounds):
        return np.array([width * height], dtype=np.int64)
    counts = np.diff(bounds, prepend=0, append=width * height)
    if counts[-1] == 0:  # the frame ends inside a run of 1s: no trailing run of 0s
        counts = counts[:-1]
    return counts


def counts_from_bounds_many(
    bounds: npt.NDArray[np.int64], owner: npt.NDArray[np.int64], n: int, width: int, height: int
) -> list[npt.NDArray[np.int64]]:
    """:func:`counts_from_bounds` for ``n`` masks at once; ``owner[j]`` is the mask ``bounds[j]``
    belongs to."""
    size = width * height
    at, times = np.unique(owner * (size + 1) + bounds, return_counts=True)
    at = at[times % 2 == 1]
    who, where = np.divmod(at, size + 1)
    # Per mask: the first bound, the steps between bounds, and what is left to the frame's end.
    per = np.bincount(who, minlength=n)
    first = np.cumsum(per) - per
    steps = np.diff(where, prepend=0)
    steps[first[per > 0]] = where[first[per > 0]]
    last = np.cumsum(per)[per > 0] - 1
    tails = size - where[last]
    counts = np.insert(steps, last + 1, tails)
    sizes = per + (per > 0)
    out = np.split(counts, np.cumsum(sizes)[:-1])
    empty = np.array([size], dtype=np.int64)
    # A mask with no runs is all 0s; one that ends inside a run of 1s has no trailing 0s.
    return [empty if not len(c) else (c[:-1] if c[-1] == 0 else c) for c in out]


def decode_crop(rle: Rle) -> tuple[tuple[int, int, int, int], npt.NDArray[np.bool_]]:
    """The (x0, y0, x1, y1) window holding the mask's set pixels, and the mask inside it."""
    H = rle.height
    ends = np.cumsum(rle.counts)
    starts = ends - rle.counts
    ones = slice(1, None, 2)
    s, e = starts[ones], ends[ones]
    keep = e > s
    s, e = s[keep], e[keep]
    if not len(s):
        return (0, 0, 0, 0), np.zeros((0, 0), dtype=bool)
    c0, c1 = int(s[0] // H), int((e[-1] - 1) // H) + 1
    across = (s // H) != ((e - 1) // H)  # a run that wraps into the next column covers rows 0..H
    r0 = 0 if across.any() else int((s % H).min())
    r1 = H if across.any() else int(((e - 1) % H).max()) + 1
    flat = np.zeros((c1 - c0) * H + 1, dtype=np.int8)
    np.add.at(flat, s - c0 * H, 1)
    np.add.at(flat, e - c0 * H, -1)
    columns = np.cumsum(flat[:-1], dtype=np.int8).reshape(c1 - c0, H)
    crop = np.ascontiguousarray(columns[:, r0:r1].T > 0)
    return (c0, r0, c1, r1), crop


def counts_to_string(counts: npt.NDArray[np.int64]) -> str:
    """pycocotools' ``rleToString``: the compressed form of ``counts``."""
    return counts_to_strings([counts])[0]


def counts_to_strings(many: Sequence[npt.NDArray[np.int64]]) -> list[str]:
    """:func:`counts_to_string` of each, computed for all of them at once: a frame's masks
    cost a few array operations in total rather than a few per mask."""
    if not many:
        return []
    sizes = np.array([len(c) for c in many], dtype=np.int64)
    counts = np.concatenate([np.asarray(c, dtype=np.int64) for c in many])
    local = np.arange(len(counts)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    x = counts.copy()
    later = np.flatnonzero(local >= 3)  # from the fourth count on: less the count two before
    x[later] -= counts[later - 2]
    # Groups needed: the fewest k such that x fits in 5k bits of two's complement, i.e. its
    # bit length (of ~x if negative) plus a sign bit, in groups of 5 (frexp's exponent is the
    # bit length, exactly for counts below 2**53).
    magnitude = np.where(x < 0, ~x, x)
    bits = np.frexp(magnitude.astype(np.float64))[1].astype(np.int64)
    groups = np.maximum((bits + _GROUP_BITS) // _GROUP_BITS, 1)
    # Group j of every count that has one, written at its place: most counts need one or two
    # groups, so each further pass touches only the few that need it.
    at = np.cumsum(groups) - groups
    chars = np.empty(int(groups.sum()), dtype=np.uint8)
    for j in range(int(groups.max(initial=1))):
        some = np.flatnonzero(groups > j) if j else slice(None)
        more = np.where(groups[some] - 1 > j, 0x20, 0)
        chars[at[some] + j] = ((x[some] >> (_GROUP_BITS * j)) & 0x1F | more) + 48
    text = chars.tobytes().decode("ascii")
    ends = np.cumsum(np.add.reduceat(groups, np.cumsum(sizes) - sizes)).tolist()
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def counts_from_string(text: bytes) -> npt.NDArray[np.int64]:
    """pycocotools' ``rleFrString``: the counts of a compressed string."""
    c = np.frombuffer(text, dtype=np.uint8).astype(np.int64) - 48
    if len(c) == 0:
        return np.zeros(0, dtype=np.int64)
    if (c < 0).any() or (c > 0x3F).any():
        raise EdgeError("a v1 rle's counts string has characters outside COCO's alphabet")
    last = (c & 0x20) == 0
    if not last[-1]:
        raise EdgeError("a v1 rle's counts string ends in the middle of a number")
    value_of = np.concatenate([[0], np.cumsum(last)[:-1]])  # which count each character belongs to
    first = np.concatenate([[0], np.flatnonzero(last)[:-1] + 1])
    k = np.arange(len(c)) - first[value_of]  # the group's place within its count
    if k.max() >= _MAX_GROUPS:
        raise EdgeError("a v1 rle's counts string holds a number too large for 64 bits")
    x = np.zeros(int(last.sum()), dtype=np.int64)
    np.add.at(x, value_of, (c & 0x1F) << (_GROUP_BITS * k))
    ends = np.flatnonzero(last)
    negative = (c[ends] & 0x10) != 0
    width = _GROUP_BITS * (k[ends] + 1)
    x[negative] |= -(np.int64(1) << width[negative])
    # Undo the differences: counts from the fourth on were sent less the count two before.
    x[2::2] = np.cumsum(x[2::2])
    x[1::2] = np.cumsum(x[1::2])
    return x


def crop_counts(masks: MaskCrops) -> list[npt.NDArray[np.int64]]:
    """Each mask's RLE counts, encoded from its crop (the counts for all masks at once)."""
    parts = [crop_bounds(c, x0, y0, masks.height) for (x0, y0, _, _), c in zip(masks.windows.tolist(), masks.crops)]
    if not parts:
        return []
    owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    return counts_from_bounds_many(np.concatenate(parts), owner, len(parts), masks.width, masks.height)


def crop_strings(masks: MaskCrops) -> list[str]:
    """Each mask's compressed RLE counts, encoded from its crop: by the compiled kernel where
    the install has it (each crop's row changes, put in column order), else by :func:`crop_counts`."""
    if native.available():
        W, H = masks.width, masks.height
        return [native.crop_rle(c, x0, y0, W, H) for (x0, y0, _, _), c in zip(masks.windows.tolist(), masks.crops)]
    return counts_to_strings(crop_counts(masks))


def add_rle(items: list[dict[str, Any]], texts: Sequence[str], width: int, height: int) -> None:
    """Give each v1 item its mask's ``rle`` (its compressed counts over the ``width`` x ``height``
    frame, :func:`counts_to_strings`) and ``mask_format: "rle"`` instead of ``points``, in the
    hosted API's key order."""
    for item, text in zip(items, texts):
        item["rle"] = {"size": [int(height), int(width)], "counts": text}
        item["mask_format"] = "rle"


def crops_from_v1(preds: list[Mapping[str, Any]], width: int, height: int) -> MaskCrops:
    """The masks of v1 items that carry an ``rle`` (or, item by item, ``points``) as crops."""
    windows = np.zeros((len(preds), 4), dtype=np.int64)
    crops: list[npt.NDArray[np.bool_]] = []
    for i, p in enumerate(preds):
        if "rle" in p:
            rle = Rle.from_v1(p["rle"])
            if (rle.width, rle.height) != (width, height):
                raise EdgeError(f"a v1 rle's size {[rle.height, rle.width]} is not the image's {[height, width]}")
            window, crop = decode_crop(rle)
        else:
            points = np.array([[q["x"], q["y"]] for q in p.get("points", [])], dtype=np.float64).reshape(-1, 2)
            one = MaskCrops.from_polygons([points], width, height)
            window, crop = tuple(one.windows[0].tolist()), one.crops[0]
        windows[i] = window
        crops.append(crop)
    return MaskCrops(windows, tuple(crops), width, height)


def rescale_v1(rle: object, width: int, height: int) -> dict[str, Any]:
    """A v1 ``rle`` of one frame size as the RLE of the same mask at ``width`` x ``height``
    (each pixel takes the source pixel its centre falls in), computed over the mask's window."""
    from edge.tasks.mask_modes import GridMasks  # mask_modes builds on the mask modules, not on rle

    src = Rle.from_v1(rle)
    window, crop = decode_crop(src)
    cells = MaskCrops(np.array([window], dtype=np.int64), (np.ascontiguousarray(crop),), src.width, src.height)
    # The source pixels are the grid's cells: its string is written from them, no frame-size mask made.
    return {"size": [int(height), int(width)], "counts": GridMasks(cells, width, height).rle_strings()[0]}


def rle_outline(rle: object) -> npt.NDArray[np.float64]:
    """The outline of a v1 ``rle``'s mask (the contour with the most points), frame pixels."""
    (x0, y0, _, _), crop = decode_crop(Rle.from_v1(rle))
    return mask_to_polygon(crop, (x0, y0))
