"""The JSON encoder's cost on a crowded instance-segmentation v1 document (issue 18).

Builds a v1 document like a crowded frame's (``--instances`` predictions whose polygons have
``--vertices`` points at half-pixel coordinates, as mask outlines are) and times the encoder
edge used before (``json.dumps`` compact, then UTF-8) against ``edge.jsonfast.dumps_bytes``:
median milliseconds of ``--repeat`` runs, and the bytes. Usage:

    .venv/bin/python tools/bench_json.py [--instances 80] [--vertices 200] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.jsonfast import dumps_bytes


def crowded_doc(instances: int, vertices: int) -> dict[str, Any]:
    """A v1 document of the shape InstanceSegmentation.to_v1 writes, with round outlines."""
    preds = []
    for i in range(instances):
        cx, cy, r = 100.0 + 13.0 * i, 80.0 + 7.0 * i, 40.0 + i % 50
        points = [
            {"x": round(cx + r * math.cos(2 * math.pi * k / vertices)) + 0.5, "y": float(round(cy + r * math.sin(k)))}
            for k in range(vertices)
        ]
        preds.append(
            {
                "x": cx,
                "y": cy,
                "width": 2 * r,
                "height": 2 * r,
                "confidence": round(0.25 + (i % 70) / 100, 4),
                "class": f"class_{i % 80}",
                "class_id": i % 80,
                "detection_id": f"{i:08x}-0000-4000-8000-000000000000",
                "points": points,
                "mask_format": "polygon",
            }
        )
    return {"inference_id": "bench", "time": 0.05, "image": {"width": 1280, "height": 720}, "predictions": preds}


def _before(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _median_ms(fn: Callable[[Any], bytes], doc: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(doc)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=80)
    ap.add_argument("--vertices", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=30)
    a = ap.parse_args()
    doc = crowded_doc(a.instances, a.vertices)
    old, new = _before(doc), dumps_bytes(doc)
    if json.loads(old) != json.loads(new):
        raise SystemExit("the two encoders disagree on the document")
    before, after = _median_ms(_before, doc, a.repeat), _median_ms(dumps_bytes, doc, a.repeat)
    print(f"{a.instances} instances x {a.vertices} vertices: {len(old)} bytes (json.dumps), {len(new)} (orjson)")
    print(f"json.dumps {before:.2f} ms, orjson {after:.2f} ms: {before / after:.1f}x faster (median of {a.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
