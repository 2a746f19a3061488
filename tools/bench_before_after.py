#!/usr/bin/env python3
"""Instance segmentation's CPU outside inference, this checkout against an earlier commit, side by side.

    python tools/bench_before_after.py                      # against c9ac9f0, the large-object crowd case
    python tools/bench_before_after.py --rounds 5 --frames 30 --before <commit>

Checks the earlier commit out into a temporary git worktree and runs the same measurement on
both, each round a fresh child process per side, the sides interleaved (before, after,
before, ...), so a slow spell of a shared machine hits both alike. The child imports ``edge``
from its own checkout and times, per frame, on one thread (CPU time of that thread,
``time.thread_time``), the work the daemon does per result after inference:

* ``masks``: ``decode_batch`` (thresholds, NMS and the box-local masks),
* ``to_v1``: the v1 document (which traces the outlines), split into ``polygons`` (the
  outlines traced on their own, on a second decode) and ``v1`` (the rest),
* ``json``: the commit's own encoder for published documents (``edge.jsonfast`` where it
  exists, else ``json.dumps`` compact, as the MQTT sink of that commit did).

Inference runs once per frame before the timing, outside it. Each side also hashes its
masks and outlines so the report says whether they are the same bits. The figures printed
are medians over rounds of the per-round mean per frame; ``after / before`` is the median of
the per-round ratios. ``--modes`` (default ``fast`` and ``tradeoff 0.5``) also times this
checkout's coarser mask decode modes on the same frames, against before's accurate total, with
each instance's IoU against this checkout's accurate answer: its mask against accurate's mask
(what RLE carries) and its polygon's fill against accurate's polygon's fill (what a polygon
carries; both are the outer contour only, so a mask's holes and islands count in neither).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "c9ac9f0"
STAGES = ("masks", "polygons", "v1", "json")

CHILD = r"""
import hashlib, importlib.util, json, os, sys, time
import cv2
import numpy as np
import edge.tasks.mask_crops
from edge.model import Model
from edge.preprocess import preprocess
from edge.tasks.decode import decode_batch
from edge.tasks.params import InferenceParams

HERE = os.getcwd()
if not os.path.abspath(edge.tasks.mask_crops.__file__).startswith(HERE + os.sep):
    sys.exit(f"edge came from {edge.tasks.mask_crops.__file__}, not {HERE}")
# An editable install can serve modules this checkout lacks from another one: only our own count.
spec = importlib.util.find_spec("edge.jsonfast")
if spec is not None and spec.origin and spec.origin.startswith(HERE + os.sep):
    from edge.jsonfast import dumps_bytes as encode
else:
    def encode(doc):
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
try:
    from edge.pipeline.blas import limit_blas_threads
    limit_blas_threads(1)
except ImportError:
    pass

model_path, clip, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
mode = sys.argv[6] if len(sys.argv) > 6 else "accurate"
params = InferenceParams(confidence=float(sys.argv[4]), overlap=float(sys.argv[5]))
if mode != "accurate":  # only this checkout has the other modes
    name, _, factor = mode.partition(" ")
    accurate = params
    params = InferenceParams(
        confidence=params.confidence, overlap=params.overlap, mask_decode_mode=name,
        tradeoff_factor=float(factor or 0.0),
    )
model = Model.open(model_path)
names = [o.name for o in model.backend.outputs]
cap = cv2.VideoCapture(clip)
batches = []
while len(batches) < frames:
    ok, frame = cap.read()
    if not ok:
        break
    tensor, geoms = preprocess([np.asarray(frame, dtype=np.uint8)], model.spec.preprocess)
    batches.append(([np.array(o) for o in model.backend.infer(tensor)], geoms))
cap.release()
model.close()
cpu = time.thread_time
tot = dict.fromkeys(("masks", "to_v1", "polygons", "json"), 0.0)
digest, size, count = hashlib.sha256(), 0, 0
mask_ious, fill_ious = [], []
for outputs, geoms in batches:
    t0 = cpu()
    result = decode_batch(model.spec, outputs, geoms, params, names)[0]
    t1 = cpu()
    doc = result.to_v1(inference_id="bench", time=0.0)
    t2 = cpu()
    data = encode(doc)
    t3 = cpu()
    again = decode_batch(model.spec, outputs, geoms, params, names)[0]
    t4 = cpu()
    # a coarser mode traces on its grid (result.polygons()); accurate on its crops, as before
    outlines = again.polygons() if getattr(again, "grid", None) is not None else again.mask_crops.polygons()
    t5 = cpu()
    tot["masks"] += t1 - t0
    tot["to_v1"] += t2 - t1
    tot["json"] += t3 - t2
    tot["polygons"] += t5 - t4
    for crop in again.mask_crops.crops:
        digest.update(np.packbits(crop).tobytes())
    for p in outlines:
        digest.update(np.ascontiguousarray(p, dtype=np.float64).tobytes())
    size += len(data)
    count += len(result.confidence)
    if mode != "accurate":
        ref_result = decode_batch(model.spec, outputs, geoms, accurate, names)[0]
        ref = ref_result.mask_crops
        fill = edge.tasks.mask_crops.MaskCrops.from_polygons(outlines, ref.width, ref.height)
        ref_fill = edge.tasks.mask_crops.MaskCrops.from_polygons(ref_result.polygons(), ref.width, ref.height)
        for mine, theirs, into in ((again.mask_crops, ref, mask_ious), (fill, ref_fill, fill_ious)):
            for wa, ca, wb, cb in zip(theirs.windows.tolist(), theirs.crops, mine.windows.tolist(), mine.crops):
                x0, y0 = min(wa[0], wb[0]), min(wa[1], wb[1])
                x1, y1 = max(wa[2], wb[2]), max(wa[3], wb[3])
                a = np.zeros((y1 - y0, x1 - x0), bool)
                b = np.zeros_like(a)
                a[wa[1] - y0 : wa[3] - y0, wa[0] - x0 : wa[2] - x0] = ca
                b[wb[1] - y0 : wb[3] - y0, wb[0] - x0 : wb[2] - x0] = cb
                union = int((a | b).sum())
                into.append(int((a & b).sum()) / union if union else 1.0)
n = max(1, len(batches))
ms = {k: v / n * 1000 for k, v in tot.items()}
ms["v1"] = max(0.0, ms["to_v1"] - ms["polygons"])
out = {"ms": ms, "bytes": size / n, "instances": count / n, "frames": len(batches), "digest": digest.hexdigest()}
# whether this checkout's compiled mask kernel ran (edge/tasks/native.py), where it has one
spec = importlib.util.find_spec("edge.tasks.native")
out["kernel"] = "none"
if spec is not None and spec.origin and spec.origin.startswith(HERE + os.sep):
    from edge.tasks import native
    out["kernel"] = "compiled" if native.available() else "numpy"
if mask_ious:
    q = lambda v: [float(np.percentile(v, 5)), float(np.median(v))]
    out["iou"] = {"mask": q(mask_ious), "fill": q(fill_ious)}
print(json.dumps(out))
"""


def _child(checkout: Path, script: Path, args: argparse.Namespace, mode: str = "accurate") -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, str(script), str(args.model), str(args.clip), str(args.frames)]
    cmd += [str(args.confidence), str(args.overlap), mode]
    proc = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"the measurement failed in {checkout}: {tail}")
    out: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def _total(run: dict[str, object]) -> float:
    ms = run["ms"]
    assert isinstance(ms, dict)
    return float(ms["masks"]) + float(ms["to_v1"]) + float(ms["json"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default=BEFORE, help=f"the earlier commit (default {BEFORE})")
    ap.add_argument("--model", default=str(ROOT / "benchmarks/models/large-crowd-segment-640.onnx"))
    ap.add_argument("--clip", default=str(ROOT / "benchmarks/large-crowd-720p.mp4"))
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--confidence", type=float, default=0.25)
    ap.add_argument("--overlap", type=float, default=0.7)
    ap.add_argument("--json", help="also write every round's figures to this file")
    ap.add_argument(
        "--modes",
        nargs="*",
        default=["fast", "tradeoff 0.5"],
        help="coarser mask decode modes of this checkout to set beside before's accurate (default: fast, tradeoff 0.5)",
    )
    a = ap.parse_args()
    for p in (Path(a.model), Path(a.clip)):
        if not p.is_file():
            raise SystemExit(f"{p} is missing; make the large-object crowd case with: python tools/make_large_crowd.py")
    with tempfile.TemporaryDirectory(prefix="edge-before-") as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), a.before], check=True)
        try:
            script = Path(tmp) / "measure.py"
            script.write_text(CHILD)
            rounds = []
            for _ in range(max(1, a.rounds)):
                r = {"before": _child(old, script, a), "after": _child(ROOT, script, a)}
                for m in getattr(a, "modes", []):
                    r[m] = _child(ROOT, script, a, m)
                rounds.append(r)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    print(_report(rounds, a))
    if a.json:
        Path(a.json).write_text(json.dumps(rounds, indent=2))
    return 0


def _median(rounds: list[dict[str, dict[str, object]]], side: str, key: str) -> float:
    vals = []
    for r in rounds:
        ms = r[side]["ms"]
        assert isinstance(ms, dict)
        vals.append(float(ms[key]))
    return statistics.median(vals)


def _report(rounds: list[dict[str, dict[str, object]]], a: argparse.Namespace) -> str:
    b0, a0 = rounds[0]["before"], rounds[0]["after"]
    lines = [
        f"{Path(a.model).name} on {Path(a.clip).name}: {a0['frames']} frames, {float(str(a0['instances'])):.1f}"
        f" instances a frame, confidence {a.confidence} / overlap {a.overlap}; {len(rounds)} interleaved rounds",
        f"CPU ms per frame, one thread (medians of rounds): {a.before} -> this checkout",
        "",
        f"{'stage':<10}{'before':>10}{'after':>10}{'after/before':>14}",
    ]
    for k in STAGES:
        before, after = _median(rounds, "before", k), _median(rounds, "after", k)
        lines.append(f"{k:<10}{before:>10.2f}{after:>10.2f}{after / max(before, 1e-9):>14.2f}")
    tb = statistics.median(_total(r["before"]) for r in rounds)
    ta = statistics.median(_total(r["after"]) for r in rounds)
    ratio = statistics.median(_total(r["after"]) / _total(r["before"]) for r in rounds)
    lines.append(f"{'total':<10}{tb:>10.2f}{ta:>10.2f}{ratio:>14.2f}   (masks + to_v1 + json; ratio: median of rounds)")
    for m in getattr(a, "modes", []):
        tm = statistics.median(_total(r[m]) for r in rounds)
        rm = statistics.median(_total(r[m]) / _total(r["before"]) for r in rounds)
        iou = rounds[0][m]["iou"]
        assert isinstance(iou, dict)
        (mp5, mmed), (fp5, fmed) = iou["mask"], iou["fill"]
        lines.append(
            f"{m:<10}{'':>10}{tm:>10.2f}{rm:>14.2f}   (this checkout's {m} against before's accurate;"
            f" IoU with accurate's, p5 / median: mask {mp5:.3f} / {mmed:.3f}, polygon fill {fp5:.3f} / {fmed:.3f};"
            f" {float(str(rounds[0][m]['bytes'])):.0f} JSON bytes a frame)"
        )
    lines += [
        "",
        f"v1 JSON bytes a frame: before {float(str(b0['bytes'])):.0f}, after {float(str(a0['bytes'])):.0f}",
        "masks and outlines: " + ("the same bits" if b0["digest"] == a0["digest"] else "DIFFERENT"),
        f"mask kernel: before {b0.get('kernel', 'none')}, after {a0.get('kernel', 'none')}"
        " (EDGE_NATIVE=0 runs the numpy path)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
