"""Per-stage cost of instance-segmentation decoding on a crowded synthetic frame.

Compares the whole-frame construction edge used before (tests/tasks/whole_frame_masks.py)
with the box-local crops: masks, polygons and v1 JSON timed separately, median of --repeat
runs, plus the peak traced allocation of each. Usage:

    .venv/bin/python tools/bench_masks.py [--instances 60] [--width 1280 --height 720]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.preprocess import PreprocessConfig, plan_geometry
from edge.tasks.mask_crops import MaskCrops, mask_to_polygon
from edge.tasks.masks import mask_crops_from_protos
from tests.tasks.whole_frame_masks import whole_frame_masks


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median CPU ms of all threads, peak MB, last result). CPU time rather than wall time:
    steadier on a shared machine, and it counts the work OpenCV spreads over its threads."""
    times, out = [], None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        times.append((time.process_time() - t) * 1e3)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=60)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    n, W, H = a.instances, a.width, a.height
    g = plan_geometry(W, H, PreprocessConfig(640, 640))
    protos = rng.normal(size=(32, 160, 160)).astype(np.float32)
    coeffs = rng.normal(scale=0.3, size=(n, 32)).astype(np.float32)
    wh = rng.uniform(0.03, 0.15, size=(n, 2)) * [W, H]
    ctr = rng.uniform([0, 0], [W, H], size=(n, 2))
    xyxy = np.clip(np.concatenate([ctr - wh / 2, ctr + wh / 2], axis=1), 0, [W, H, W, H])
    xyxy_net = xyxy * np.array([g.scale_x, g.scale_y] * 2) + np.array([g.offset_x, g.offset_y] * 2)

    def points(polys: list[np.ndarray]) -> str:
        return json.dumps([[{"x": x, "y": y} for x, y in p.tolist()] for p in polys])

    old_m, old_mp, full = _timed(lambda: whole_frame_masks(coeffs, protos, g, xyxy), a.repeat)
    old_p, old_pp, polys = _timed(lambda: [mask_to_polygon(m) for m in full], a.repeat)
    old_j, _, _ = _timed(lambda: points(polys), a.repeat)
    new_m, new_mp, crops = _timed(lambda: mask_crops_from_protos(coeffs, protos, g, xyxy, xyxy_net), a.repeat)
    assert isinstance(crops, MaskCrops)
    new_p, new_pp, cpolys = _timed(crops.polygons, a.repeat)
    new_j, _, _ = _timed(lambda: points(cpolys), a.repeat)
    print(f"{n} instances on {W}x{H}, 160x160 prototypes; median CPU ms of {a.repeat} runs, peak traced MB")
    print(f"{'':12}{'masks':>16}{'polygons':>16}{'json':>8}")
    print(f"{'whole-frame':12}{old_m:8.1f} ({old_mp:4.0f} MB){old_p:8.1f} ({old_pp:4.0f} MB){old_j:8.1f}")
    print(f"{'box-local':12}{new_m:8.1f} ({new_mp:4.0f} MB){new_p:8.1f} ({new_pp:4.0f} MB){new_j:8.1f}")


if __name__ == "__main__":
    main()
