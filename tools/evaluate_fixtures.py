#!/usr/bin/env python3
"""Score the fixture models on held-out shapes-world images, through edge's v1 output.

    python tools/evaluate_fixtures.py [--count 200] [--seed 20261126] [--tasks detect,...]

Images are drawn at 320x320, 480x360, 360x480 and 640x480 from a seed never used in
training. Prints one line per metric with its target and exits non-zero if any misses.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.demo.fixture_scores import FIXTURE_TARGETS, evaluate_fixture  # noqa: E402

HELD_OUT_SEED = 20261126


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200, help="images per task (default 200)")
    ap.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    ap.add_argument("--tasks", default=",".join(FIXTURE_TARGETS))
    ap.add_argument("--models", type=Path, default=ROOT / "tests" / "fixtures" / "models")
    args = ap.parse_args()
    ok = True
    print(f"{'model':<28} {'metric':<28} {'score':>7} {'target':>7}")
    for task in args.tasks.split(","):
        t0 = time.perf_counter()
        scores = evaluate_fixture(args.models / f"shapes-{task}.onnx", task, args.count, args.seed)
        for metric, target in FIXTURE_TARGETS[task].items():
            value = scores[metric]
            ok &= value >= target
            flag = "" if value >= target else "  MISSED"
            print(f"{'shapes-' + task + '.onnx':<28} {metric:<28} {value:7.3f} {target:7.2f}{flag}")
        print(f"  ({args.count} images in {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
