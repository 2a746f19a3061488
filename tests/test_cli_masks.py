"""edge infer takes the mask options as the v1 route does."""

from __future__ import annotations

import json

from tests.helpers import GOLDEN
from tests.test_cli import edge

IMAGE = str(GOLDEN / "images" / "detect-0.png")


def test_infer_sends_rle_of_fast_masks_on_request(fixture_models: dict) -> None:
    args = ["--mask-decode-mode", "fast", "--response-mask-format", "rle"]
    res = edge("infer", "--model", str(fixture_models["segment"]), *args, IMAGE)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    items, size = doc["predictions"], [doc["image"]["height"], doc["image"]["width"]]
    assert items and all(p["mask_format"] == "rle" and "points" not in p for p in items)
    assert all(p["rle"]["size"] == size for p in items)


def test_a_bad_tradeoff_factor_is_one_line(fixture_models: dict) -> None:
    res = edge("infer", "--model", str(fixture_models["segment"]), "--tradeoff-factor", "3", IMAGE)
    assert res.returncode != 0 and res.stdout == ""
    assert res.stderr.strip().count("\n") == 0 and "tradeoff_factor must be within 0..1" in res.stderr
