#!/usr/bin/env python3
"""Write tests/fixtures/rle/pycocotools_vectors.json: COCO RLE strings as pycocotools encodes them.

pycocotools is not a dependency of edge; run this in a throwaway venv that has it:

    python3 -m venv /tmp/coco && /tmp/coco/bin/pip install pycocotools numpy
    /tmp/coco/bin/python tools/make_rle_vectors.py tests/fixtures/rle/pycocotools_vectors.json
"""

import json
import sys

import numpy as np
from pycocotools import mask as mu

rng = np.random.default_rng(7)
cases = []


def add(name, H, W, x0, y0, crop):
    full = np.zeros((H, W), np.uint8, order="F")
    h, w = crop.shape
    full[y0 : y0 + h, x0 : x0 + w] = crop
    rle = mu.encode(np.asfortranarray(full))
    cases.append(
        {
            "name": name,
            "size": [H, W],
            "x0": x0,
            "y0": y0,
            "shape": [h, w],
            "bits": np.packbits(crop.astype(np.uint8).ravel()).tobytes().hex(),
            "counts": rle["counts"].decode("ascii"),
            "area": int(mu.area(rle)),
        }
    )


add("empty", 4, 5, 0, 0, np.zeros((4, 5), bool))
add("full", 4, 5, 0, 0, np.ones((4, 5), bool))
add("first pixel", 3, 3, 0, 0, np.array([[1]], bool))
add("last pixel", 3, 3, 2, 2, np.array([[1]], bool))
add(
    "runs across columns",
    6,
    4,
    0,
    0,
    np.array([[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [1, 1, 1, 1]], bool),
)
for i in range(6):
    H, W = int(rng.integers(5, 40)), int(rng.integers(5, 40))
    h, w = int(rng.integers(1, H + 1)), int(rng.integers(1, W + 1))
    crop = rng.random((h, w)) < rng.uniform(0.2, 0.8)
    add(f"random {i}", H, W, int(rng.integers(0, W - w + 1)), int(rng.integers(0, H - h + 1)), crop)
yy, xx = np.mgrid[:300, :260]
blob = ((yy - 150) ** 2 / 140**2 + (xx - 130) ** 2 / 120**2) < 1
add("an ellipse on a 720p frame", 720, 1280, 700, 300, blob)
add("a box at the bottom right of 4K", 2160, 3840, 3700, 2000, np.ones((160, 140), bool))
add("full height columns", 50, 30, 10, 0, rng.random((50, 8)) < 0.9)
json.dump(cases, open(sys.argv[1], "w"), indent=1)
print(len(cases))
