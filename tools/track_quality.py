#!/usr/bin/env python3
"""Tracking quality through the real detector: ours against Roboflow `trackers`' ByteTrack.

    python tools/track_quality.py [--frames 450] [--seed 3] [--reference-python /tmp/trk-venv/bin/python]

Draws a shapes-world sequence with ground-truth ids (shapes on straight lines bouncing off the
edges, crossing and occluding each other, uneven frame times, dropped frames), runs the fixture
detector (tests/fixtures/models/shapes-detect.onnx) on every frame, so the boxes have a real
detector's noise and misses, then feeds the same detections to edge's ByteTracker and to
`trackers.ByteTrackTracker` and scores both (HOTA, IDF1, MOTA; tools/mot_metrics.py).

`trackers` needs numpy>=2 and opencv-python, which do not belong in edge's environment, so it
runs in a separate venv given by --reference-python:
    python3 -m venv /tmp/trk-venv && /tmp/trk-venv/bin/pip install trackers
With --trackeval (`pip install trackeval` in that venv too) every output is also scored by
TrackEval, a check on tools/mot_metrics.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.mot_metrics import HEADER, FrameBoxes, Scores, score  # noqa: E402

MODEL = ROOT / "tests" / "fixtures" / "models" / "shapes-detect.onnx"
DETECT_CONFIDENCE = 0.1  # low, so ByteTrack's second (low-score) stage has boxes to use
CLASSES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class TruthFrame:
    ts: float
    image: npt.NDArray[np.uint8]
    truth: FrameBoxes


@dataclass(frozen=True)
class DetFrame:
    ts: float
    xyxy: npt.NDArray[np.float64]
    class_id: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]


def _fold(x: npt.NDArray[np.float64], length: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Position on [0, length] of a point moving freely and bouncing off both ends."""
    period = np.mod(x, 2 * length)
    return np.where(period > length, 2 * length - period, period)


def render(frames: int, seed: int, fps: float = 15.0, drop: float = 0.2, uneven: float = 0.3) -> list[TruthFrame]:
    """`frames` captured frames of six moving shapes at 640x480, with their ground-truth boxes and ids."""
    import cv2

    from edge.demo.shapes import shape_polygon

    rng = np.random.default_rng(seed)
    w, h, n = 640, 480, 6
    s = float(min(w, h))
    radius = rng.uniform(0.06, 0.1, n) * s
    start = rng.uniform(0, 1, (n, 2)) * (np.array([w, h]) - 2 * radius[:, None])
    speed, heading = rng.uniform(40, 120, n), rng.uniform(0, 2 * np.pi, n)
    velocity = speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    classes, angle0, spin = rng.integers(0, 3, n), rng.uniform(0, 2 * np.pi, n), rng.uniform(-0.6, 0.6, n)
    colours = rng.uniform(0, 255, (n, 3))
    # A fixed camera: one noisy gradient background, drawn once.
    ramp = (np.arange(w) / w)[None, :, None] * np.array([60.0, 30.0, 12.0])
    background = np.clip(90 + ramp + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
    out: list[TruthFrame] = []
    ts = 0.0
    while len(out) < frames:
        ts += (1.0 / fps) * (1.0 + rng.uniform(-uneven, uneven))
        if rng.random() < drop:
            continue
        image = background.copy()
        centres = radius[:, None] + _fold(start + velocity * ts, np.array([w, h]) - 2 * radius[:, None])
        boxes = []
        for i in range(n):  # drawn in order: later shapes occlude earlier ones
            poly = shape_polygon(CLASSES[classes[i]], centres[i], float(radius[i]), float(angle0[i] + spin[i] * ts))
            pts = np.round((poly - 0.5) * 16).astype(np.int32)
            cv2.fillPoly(image, [pts], colours[i].tolist(), lineType=cv2.LINE_AA, shift=4)
            boxes.append(np.concatenate([np.clip(poly.min(0), 0, [w, h]), np.clip(poly.max(0), 0, [w, h])]))
        out.append(TruthFrame(round(ts, 6), image, FrameBoxes(np.array(boxes), np.arange(n, dtype=np.int64))))
    return out


def detect(seq: list[TruthFrame], model: Path = MODEL) -> list[DetFrame]:
    from edge.model import Model
    from edge.tasks.detection import Detections
    from edge.tasks.params import InferenceParams

    params = InferenceParams(confidence=DETECT_CONFIDENCE)
    out: list[DetFrame] = []
    with Model.open(model, threads=1, spinning=False) as m:  # a shared machine: no spin-waiting
        for f in seq:
            r = m.predict([f.image], params)[0].result
            if not isinstance(r, Detections):
                raise SystemExit(f"{model}: not a detection model")
            xyxy = np.asarray(r.xyxy, dtype=np.float64).reshape(-1, 4)
            out.append(DetFrame(f.ts, xyxy, r.class_id.astype(np.int64), r.confidence.astype(np.float64)))
    return out


def track_ours(dets: list[DetFrame], other_class_weight: float | None = None) -> list[FrameBoxes]:
    """Our ByteTracker at its defaults (other_class_weight: override that one setting)."""
    from edge.tracking.bytetrack import ByteTracker, TrackerConfig
    from edge.tracking.detections import Detections

    config = TrackerConfig() if other_class_weight is None else TrackerConfig(other_class_weight=other_class_weight)
    tracker = ByteTracker(config)
    out: list[FrameBoxes] = []
    for d in dets:
        ids = tracker.update(Detections(d.xyxy, d.class_id, d.confidence), d.ts).tracker_id
        keep = ids >= 0
        out.append(FrameBoxes(d.xyxy[keep], ids[keep]))
    return out


def track_reference(dets: list[DetFrame], python: str, fps: float = 15.0) -> list[FrameBoxes]:
    """`trackers.ByteTrackTracker` in its own venv (numpy>=2, opencv-python), fed the same detections."""
    with tempfile.TemporaryDirectory(prefix="track-quality-") as work:
        src, dst = Path(work) / "dets.json", Path(work) / "tracks.json"
        doc = [
            {"ts": d.ts, "xyxy": d.xyxy.tolist(), "cls": d.class_id.tolist(), "conf": d.confidence.tolist()}
            for d in dets
        ]
        src.write_text(json.dumps(doc))
        cmd = [python, str(Path(__file__).resolve()), "--reference-child", str(src), str(dst), "--fps", str(fps)]
        subprocess.run(cmd, check=True)
        frames = json.loads(dst.read_text())
    return [
        FrameBoxes(np.asarray(f["xyxy"], dtype=np.float64).reshape(-1, 4), np.asarray(f["ids"], dtype=np.int64))
        for f in frames
    ]


def _reference_child(src: Path, dst: Path, fps: float) -> None:
    import supervision as sv
    from trackers import ByteTrackTracker

    # Its lost budget is in frames: one second at the nominal rate, like our lost_after (1 s);
    # timestamps are passed so its Kalman step follows the uneven capture times too.
    tracker = ByteTrackTracker(lost_track_buffer=int(round(fps)), frame_rate=fps)
    out = []
    for f in json.loads(src.read_text()):
        xyxy = np.asarray(f["xyxy"], dtype=np.float64).reshape(-1, 4)
        dets = sv.Detections(xyxy=xyxy, class_id=np.asarray(f["cls"], dtype=int), confidence=np.asarray(f["conf"]))
        res = tracker.update(dets, timestamp=f["ts"])
        keep = res.tracker_id >= 0
        out.append({"xyxy": res.xyxy[keep].tolist(), "ids": res.tracker_id[keep].tolist()})
    dst.write_text(json.dumps(out))


def _boxes_json(frames: list[FrameBoxes]) -> list[dict[str, list[object]]]:
    return [{"xyxy": f.xyxy.tolist(), "ids": f.ids.tolist()} for f in frames]


def trackeval_scores(truth: list[FrameBoxes], out: list[FrameBoxes], python: str) -> dict[str, float]:
    """The same scores from TrackEval (HOTA, CLEAR, Identity), run in the reference venv: a check
    on tools/mot_metrics.py (`pip install trackeval` there too)."""
    with tempfile.TemporaryDirectory(prefix="track-quality-") as work:
        src, dst = Path(work) / "in.json", Path(work) / "out.json"
        src.write_text(json.dumps({"truth": _boxes_json(truth), "pred": _boxes_json(out)}))
        cmd = [python, str(Path(__file__).resolve()), "--trackeval-child", str(src), str(dst)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        result: dict[str, float] = json.loads(dst.read_text())
    return result


def _trackeval_child(src: Path, dst: Path) -> None:
    import trackeval

    from tools.mot_metrics import iou

    doc = json.loads(src.read_text())
    frames = {
        k: [FrameBoxes(np.asarray(f["xyxy"]).reshape(-1, 4), np.asarray(f["ids"])) for f in v] for k, v in doc.items()
    }

    def dense(fs: list[FrameBoxes]) -> tuple[list[npt.NDArray[np.int64]], int]:
        table: dict[int, int] = {}
        return [np.array([table.setdefault(int(i), len(table)) for i in f.ids], dtype=np.int64) for f in fs], len(table)

    (gi, ng), (pi, npr) = dense(frames["truth"]), dense(frames["pred"])
    data = {
        "num_timesteps": len(gi),
        "num_gt_dets": sum(len(g) for g in gi),
        "num_tracker_dets": sum(len(p) for p in pi),
        "num_gt_ids": ng,
        "num_tracker_ids": npr,
        "gt_ids": gi,
        "tracker_ids": pi,
        "similarity_scores": [iou(g.xyxy, q.xyxy) for g, q in zip(frames["truth"], frames["pred"])],
    }
    hota = trackeval.metrics.HOTA().eval_sequence(data)
    clear = trackeval.metrics.CLEAR().eval_sequence(data)
    ident = trackeval.metrics.Identity().eval_sequence(data)
    out = {"hota": float(np.mean(hota["HOTA"])), "idf1": float(ident["IDF1"]), "mota": float(clear["MOTA"])}
    dst.write_text(json.dumps({**out, "id_switches": int(clear["IDSW"])}))


def evaluate(frames: int, seed: int, reference_python: str | None, check: bool = False) -> dict[str, Scores]:
    seq = render(frames, seed)
    dets = detect(seq)
    truth = [f.truth for f in seq]
    outputs = {"edge ByteTracker": track_ours(dets), "edge strict classes": track_ours(dets, other_class_weight=0.0)}
    if reference_python:
        outputs["trackers ByteTrack"] = track_reference(dets, reference_python)
    scores = {name: score(truth, out) for name, out in outputs.items()}
    if check and reference_python:
        for name, out in outputs.items():
            te = trackeval_scores(truth, out, reference_python)
            print(f"  TrackEval on {name} s{seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in te.items()), flush=True)
    return scores


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=450, help="captured frames (default 450: about 37 s)")
    ap.add_argument("--seed", type=int, nargs="+", default=[3], help="sequence seeds (default 3)")
    ap.add_argument("--reference-python", help="python of a venv with `trackers` installed")
    ap.add_argument("--trackeval", action="store_true", help="also score with TrackEval in the reference venv")
    ap.add_argument("--reference-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--trackeval-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--fps", type=float, default=15.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference_child:
        _reference_child(*args.reference_child, args.fps)
        return 0
    if args.trackeval_child:
        _trackeval_child(*args.trackeval_child)
        return 0
    print(HEADER)
    totals: dict[str, list[Scores]] = {}
    for seed in args.seed:
        for name, s in evaluate(args.frames, seed, args.reference_python, args.trackeval).items():
            print(s.row(f"{name} s{seed}"), flush=True)
            totals.setdefault(name, []).append(s)
    if len(args.seed) > 1:
        print("mean over seeds:")
        for name, runs in totals.items():
            hota, idf1, mota = (sum(getattr(r, k) for r in runs) / len(runs) * 100 for k in ("hota", "idf1", "mota"))
            print(f"{name:<22} {hota:6.1f} {idf1:6.1f} {mota:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
