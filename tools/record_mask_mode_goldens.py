#!/usr/bin/env python3
"""Record tests/fixtures/golden/mask-modes.json: edge's v1 documents for the fast and tradeoff
mask decode modes, polygon and RLE, on the fixture segmentation model (Ultralytics export and
its Roboflow package), so a change to those modes shows up as a diff of expected documents.

    .venv/bin/python tools/record_mask_mode_goldens.py

Rerun it only after checking, with tests/tasks/test_mask_modes.py's IoU floors, that a
change of the masks is wanted.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.model import Model
from edge.tasks.points import plain
from tests.tasks.mask_mode_cases import EXPECTED, ULTRALYTICS, comparable, frames, package_path, params
from tools.record_inference_models_goldens import write_package

RECORDED = ("fast", "tradeoff 0.5")


def main() -> None:
    out: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        models = {"ultralytics": ULTRALYTICS, "roboflow": write_package("segment", package_path(Path(tmp)))}
        cases = frames()[:6]  # the golden images and their rescales, kept small
        for style, path in models.items():
            with Model.open(path) as model:
                for mode in RECORDED:
                    for fmt in ("polygon", "rle"):
                        key = f"{style} / {mode} / {fmt}"
                        docs = {
                            name: comparable(model.predict([img], params(mode, fmt))[0].result.to_v1())
                            for name, img in cases
                        }
                        out[key] = docs
    EXPECTED.write_text(json.dumps(plain(out), separators=(",", ":")) + "\n")
    print(f"wrote {EXPECTED} ({EXPECTED.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
