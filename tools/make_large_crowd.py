#!/usr/bin/env python3
"""Make the large-object crowd benchmark for ``edge bench --crowd-large``: a clip and two models.

    python tools/make_large_crowd.py            # about a minute; numpy, onnx, ONNX Runtime only

Writes (not committed: see benchmarks/README.md)

* ``benchmarks/large-crowd-720p.mp4``: 1280x720 H.264 (x264 through GStreamer), 30 fps, 150
  frames of a textured scene: multi-scale noise panning under a few dozen textured patches
  that move across it;
* ``benchmarks/models/large-crowd-segment-640.onnx`` and ``large-crowd-detect-640.onnx``:
  YOLOv8-seg / YOLOv8-shaped graphs (640x640 input, dynamic batch, 80 classes, 32 prototypes
  at 160x160, Ultralytics metadata), built with ``onnx.helper`` from seeded numpy weights.

Issue 18's figures are for a yolov8n-seg at confidence 0.25 / overlap 0.7 on such a clip:
about 77 instances a frame, boxes with a median of 238x207 px, outlines with a median of 191
vertices. No trained model does that offline, so these graphs are made to:

* a backbone of stride-2 and 3x3 ReLU convolutions (He-initialised random weights) down to
  strides 4, 8, 16 and 32, sized so an inference costs about what a yolov8n-seg's does;
* per level a 1x1 head of 4 box + 80 class + 32 coefficient channels, each normalised to
  zero mean and unit spread on the clip's frames (a 1x1 convolution is linear, so rescaling
  its weights is exact): the network's answers follow the picture, frame by frame;
* boxes ``centre = anchor + stride * tanh(raw)``, ``size = exp(0.25 raw + log s)`` with s
  drawn per anchor around 120x104 network pixels (240x208 in the frame);
* class scores ``sigmoid(1.5 raw + bias)``: ``--slots`` anchors (on the content, not the
  letterbox bars) each get one class whose bias is set by bisection so that edge's own
  decoder at confidence 0.25 / overlap 0.7 keeps a median of ``--instances`` a frame; every
  other (anchor, class) is silenced. The picture moves which slots pass;
* prototypes: a 3x3 convolution of the stride-4 features (ragged, texture-driven blobs)
  plus one constant prototype whose coefficient, drawn per anchor around ``--fill``, sets how
  much of its box a mask covers: some masks nearly fill their box (few vertices), others are
  ragged outlines of hundreds or thousands, as the issue's were.

The detection model has the same weights without the mask branch, so it finds the same boxes.
Seeded (``--seed``): a rerun makes the same files on the same machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.tasks.detection import select  # noqa: E402
from edge.tasks.params import InferenceParams  # noqa: E402
from tools.make_crowd_benchmark import read_frames  # noqa: E402  (the clip reader both crowd tools share)

NC, NM = 80, 32
CONFIDENCE, OVERLAP = 0.25, 0.7
Frame = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Spec:
    """What to make; the defaults are the benchmark's, tests make a tiny one."""

    width: int = 1280
    height: int = 720
    frames: int = 150
    imgsz: int = 640
    depth: int = 3  # 3x3 convolutions per stage after each stride-2 one
    slots: int = 110
    instances: int = 72
    fill: float = 7.0
    seed: int = 18


# -- the clip ----------------------------------------------------------------------------


def _noise(rng: np.random.Generator, h: int, w: int) -> F32:
    """Colour noise at three scales (blurred at sigma 3, 12 and 40 px), 0..255."""
    out = np.zeros((h, w, 3), dtype=np.float32)
    for sigma, gain in ((3.0, 0.6), (12.0, 1.0), (40.0, 1.4)):
        n = rng.normal(0, 1, (h, w, 3)).astype(np.float32)
        b = cv2.GaussianBlur(n, (0, 0), sigma)
        out += gain * b / max(float(b.std()), 1e-6)
    return np.clip(128 + 32 * out, 0, 255).astype(np.float32)


def render(spec: Spec) -> Iterator[Frame]:
    """A panning textured background under ``spec.slots // 3`` textured patches moving over it."""
    rng = np.random.default_rng(spec.seed)
    W, H = spec.width, spec.height
    canvas = _noise(rng, H + 200, W + 200)
    count = max(4, spec.slots // 3)
    sizes = rng.uniform(0.08, 0.25, (count, 2)) * [W, H]
    sizes = np.maximum(sizes, 8).astype(np.int64)
    pos = rng.uniform([0, 0], [W, H], (count, 2))
    vel = rng.normal(0, 4.0, (count, 2))
    patches = [_noise(rng, int(s[1]), int(s[0])) for s in sizes]
    for t in range(spec.frames):
        ox, oy = int(100 + 90 * np.sin(t / 40)), int(100 + 90 * np.cos(t / 55))
        frame = canvas[oy : oy + H, ox : ox + W].copy()
        for (x, y), (w, h), patch in zip(pos.astype(np.int64).tolist(), sizes.tolist(), patches):
            x0, y0, x1, y1 = max(x - w // 2, 0), max(y - h // 2, 0), min(x - w // 2 + w, W), min(y - h // 2 + h, H)
            if x1 > x0 and y1 > y0:
                px, py = x0 - (x - w // 2), y0 - (y - h // 2)
                frame[y0:y1, x0:x1] = patch[py : py + y1 - y0, px : px + x1 - x0]
        yield frame.astype(np.uint8)
        pos += vel
        bounce = (pos < 0) | (pos > [W, H])
        vel[bounce] = -vel[bounce]


def write_clip(spec: Spec, path: Path, codec: str) -> None:
    """H.264 through gst-launch (x264enc; pip OpenCV cannot encode it), or MPEG-4 part 2 via OpenCV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    if codec == "mp4v":
        out = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (spec.width, spec.height))
        for frame in render(spec):
            out.write(frame)
        out.release()
    else:
        if shutil.which("gst-launch-1.0") is None:
            sys.exit("gst-launch-1.0 not found: install gstreamer1.0-tools and gstreamer1.0-plugins-ugly (x264enc)")
        pipeline = (
            f"fdsrc fd=0 blocksize={spec.width * spec.height * 3} ! rawvideoparse width={spec.width} "
            f"height={spec.height} format=bgr framerate=30/1 ! videoconvert ! video/x-raw,format=I420 ! "
            f"x264enc speed-preset=medium bitrate=6000 key-int-max=30 threads=2 ! h264parse ! mp4mux ! "
            f"filesink location={tmp}"
        )
        proc = subprocess.Popen(["gst-launch-1.0", "-q", "-e", *pipeline.split()], stdin=subprocess.PIPE)
        assert proc.stdin is not None
        for frame in render(spec):
            proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        proc.stdin.close()
        if proc.wait() != 0:
            sys.exit(f"gst-launch-1.0 failed to write {path}")
    if not tmp.is_file():
        sys.exit(f"could not write {path}")
    tmp.replace(path)


def letterbox(frames: list[Frame], imgsz: int) -> F32:
    """Ultralytics' letterbox (grey 114 bars, centred), RGB, 0..1, NCHW."""
    h0, w0 = frames[0].shape[:2]
    scale = min(imgsz / w0, imgsz / h0)
    w, h = round(w0 * scale), round(h0 * scale)
    top, left = (imgsz - h) // 2, (imgsz - w) // 2
    batch = np.full((len(frames), imgsz, imgsz, 3), 114, dtype=np.uint8)
    for i, f in enumerate(frames):
        batch[i, top : top + h, left : left + w] = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)[..., ::-1]
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)


# -- the graph ---------------------------------------------------------------------------


class _Graph:
    """Nodes and initialisers of one ONNX graph, with seeded He-initialised convolutions."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, npt.NDArray[np.generic]] = {}
        self._n = 0

    def name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def const(self, value: npt.NDArray[np.generic], prefix: str = "c") -> str:
        n = self.name(prefix)
        self.inits[n] = value
        return n

    def op(self, kind: str, inputs: list[str], **attrs: object) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int, relu: bool = True) -> str:
        w = self.rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        b = np.zeros(cout, dtype=np.float32)
        wn, bn = self.const(w, "w"), self.const(b, "b")
        y = self.op("Conv", [x, wn, bn], kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4)
        return self.op("Relu", [y]) if relu else y


@dataclass
class _Net:
    graph: _Graph
    heads: list[tuple[str, str, str]]  # per level: raw head output, its weight and bias initialisers
    protos: tuple[str, str, str]  # the prototype conv's output, weight, bias
    grids: list[int]


def _backbone(g: _Graph, spec: Spec) -> _Net:
    x = g.conv("images", 3, 16, 3, 2)  # stride 2
    x = g.conv(x, 16, 32, 3, 2)  # stride 4
    for _ in range(spec.depth):
        x = g.conv(x, 32, 32, 3, 1)
    p2 = x
    feats, cin = [], 32
    for cout in (64, 128, 256):  # strides 8, 16, 32
        x = g.conv(x, cin, cout, 3, 2)
        for _ in range(spec.depth):
            x = g.conv(x, cout, cout, 3, 1)
        feats.append((x, cout))
        cin = cout
    heads = []
    for f, c in feats:
        y = g.conv(f, c, 4 + NC + NM, 1, 1, relu=False)
        node = g.nodes[-1]
        heads.append((y, node.input[1], node.input[2]))
    pr = g.conv(p2, 32, NM, 3, 1, relu=False)
    node = g.nodes[-1]
    grids = [spec.imgsz // s for s in (8, 16, 32)]
    return _Net(g, heads, (pr, node.input[1], node.input[2]), grids)


def _anchors(grids: list[int], imgsz: int) -> tuple[F32, F32]:
    """(2, A) anchor centres in network pixels and (A,) their strides, level by level."""
    centres, strides = [], []
    for gsz in grids:
        s = imgsz / gsz
        ys, xs = np.mgrid[0:gsz, 0:gsz]
        centres.append(np.stack([(xs.ravel() + 0.5) * s, (ys.ravel() + 0.5) * s]))
        strides.append(np.full(gsz * gsz, s))
    return np.concatenate(centres, axis=1).astype(np.float32), np.concatenate(strides).astype(np.float32)


@dataclass(frozen=True)
class _Calibration:
    """Per-anchor constants of the decoded head, chosen once from the spec's seed."""

    wh_log: F32  # (2, A)
    fill: F32  # (A,) coefficient of the constant prototype
    slot_anchor: npt.NDArray[np.int64]
    slot_class: npt.NDArray[np.int64]


def _calibration(rng: np.random.Generator, spec: Spec, centres: F32) -> _Calibration:
    a = centres.shape[1]
    scale = spec.imgsz / 640
    wh = np.exp(rng.normal(0, 0.45, (2, a))) * (np.array([[150.0], [112.0]]) * scale)
    fill = rng.normal(spec.fill, 4.0, a).astype(np.float32)
    content = spec.imgsz * min(spec.height / spec.width, 1.0)
    top = (spec.imgsz - content) / 2
    inside = np.flatnonzero((centres[1] > top + 8 * scale) & (centres[1] < top + content - 8 * scale))
    slots = rng.choice(inside, size=min(spec.slots, len(inside)), replace=False)
    return _Calibration(np.log(wh).astype(np.float32), fill, np.sort(slots), rng.integers(0, NC, len(slots)))


def _decoded(net: _Net, spec: Spec, cal: _Calibration, cls_bias: F32, segment: bool) -> onnx.ModelProto:
    """The graph with the YOLOv8 output layout: (batch, 4 + 80 [+ 32], A) and (batch, 32, h, w)."""
    g = net.graph
    flat = [g.op("Reshape", [h, g.const(np.array([0, 4 + NC + NM, -1], dtype=np.int64))]) for h, _, _ in net.heads]
    raw = g.op("Concat", flat, axis=2)

    def part(a: int, b: int) -> str:
        starts, ends = g.const(np.array([a], dtype=np.int64)), g.const(np.array([b], dtype=np.int64))
        return g.op("Slice", [raw, starts, ends, g.const(np.array([1], dtype=np.int64))])

    centres, strides = _anchors(net.grids, spec.imgsz)
    xy = g.op("Add", [g.const(centres[None]), g.op("Mul", [g.const(strides[None, None]), g.op("Tanh", [part(0, 2)])])])
    wh = g.op("Exp", [g.op("Add", [g.op("Mul", [part(2, 4), g.const(np.float32([0.25]))]), g.const(cal.wh_log[None])])])
    scores = g.op("Mul", [part(4, 4 + NC), g.const(np.float32([1.5]))])
    scores = g.op("Sigmoid", [g.op("Add", [scores, g.const(cls_bias[None])])])
    fill = np.zeros((1, NM, len(cal.fill)), dtype=np.float32)
    fill[0, 0] = cal.fill  # per anchor: some masks nearly fill their box, others are ragged
    outs = [xy, wh, scores] + ([g.op("Add", [part(4 + NC, 4 + NC + NM), g.const(fill)])] if segment else [])
    g.nodes.append(helper.make_node("Concat", outs, ["output0"], axis=1))
    outputs = [
        helper.make_tensor_value_info(
            "output0", TensorProto.FLOAT, ["batch", 4 + NC + (NM if segment else 0), "anchors"]
        )
    ]
    nodes = list(g.nodes)
    if segment:
        nodes.append(helper.make_node("Identity", [net.protos[0]], ["output1"]))
        outputs.append(
            helper.make_tensor_value_info("output1", TensorProto.FLOAT, ["batch", NM, "mask_height", "mask_width"])
        )
    else:  # the mask branch's nodes go: detection costs what its outputs need
        nodes = [n for n in nodes if n.output[0] != net.protos[0]]
    used = {i for n in nodes for i in n.input}
    inits = [numpy_helper.from_array(v, k) for k, v in g.inits.items() if k in used]
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, spec.imgsz, spec.imgsz])
    graph = helper.make_graph(nodes, "large_crowd", [inp], outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edge make_large_crowd")
    model.ir_version = 8
    names = "{" + ", ".join(f"{i}: 'class_{i}'" for i in range(NC)) + "}"
    meta = {
        "description": "edge large-object crowd benchmark (random seeded weights, tools/make_large_crowd.py)",
        "stride": "32",
        "task": "segment" if segment else "detect",
        "batch": "1",
        "imgsz": f"[{spec.imgsz}, {spec.imgsz}]",
        "names": names,
    }
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model


def _session(model: onnx.ModelProto, outputs: list[str] | None = None) -> object:
    import onnxruntime as ort

    if outputs:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        del model.graph.output[:]
        model.graph.output.extend(helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _normalise(net: _Net, images: F32) -> None:
    """Rescale each 1x1 head (and the prototype conv) so every channel has mean 0, spread 1 on the clip."""
    g = net.graph
    probe = helper.make_model(
        helper.make_graph(
            list(g.nodes),
            "probe",
            [
                helper.make_tensor_value_info(
                    "images", TensorProto.FLOAT, ["batch", 3, images.shape[2], images.shape[3]]
                )
            ],
            [],
            initializer=[numpy_helper.from_array(v, k) for k, v in g.inits.items()],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    probe.ir_version = 8
    names = [h for h, _, _ in net.heads] + [net.protos[0]]
    sess = _session(probe, names)
    got = [sess.run(names, {"images": images[i : i + 1]}) for i in range(len(images))]  # type: ignore[attr-defined]
    for k, (_, wn, bn) in enumerate([*net.heads, net.protos]):
        vals = np.concatenate([o[k] for o in got], axis=0)
        mean, std = vals.mean(axis=(0, 2, 3)), vals.std(axis=(0, 2, 3)) + 1e-6
        w, b = g.inits[wn], g.inits[bn]
        g.inits[wn] = (w / std[:, None, None, None]).astype(np.float32)
        g.inits[bn] = ((b - mean) / std).astype(np.float32)
    w, b = g.inits[net.protos[1]], g.inits[net.protos[2]]
    w[0], b[0] = 0.0, 1.0  # prototype 0 is the constant 1: its coefficient sets how full a mask is


def _fill(net: _Net) -> None:
    """Coefficient 0 (of prototype 0, the constant) comes from the per-anchor fill alone."""
    for _, wn, bn in net.heads:
        w, b = net.graph.inits[wn], net.graph.inits[bn]
        w[4 + NC], b[4 + NC] = 0.0, 0.0


def _clone(net: _Net) -> _Net:
    g = _Graph(net.graph.rng)
    g.nodes, g.inits, g._n = list(net.graph.nodes), dict(net.graph.inits), net.graph._n
    return _Net(g, net.heads, net.protos, net.grids)


def _bias_map(cal: _Calibration, b: float) -> F32:
    m = np.full((NC, cal.wh_log.shape[1]), -14.0, dtype=np.float32)
    m[cal.slot_class, cal.slot_anchor] = b
    return m


def build(spec: Spec, frames: list[Frame]) -> tuple[onnx.ModelProto, onnx.ModelProto, float]:
    """(segmentation model, detection model, the slot bias found), calibrated on ``frames``."""
    images = letterbox(frames, spec.imgsz)
    net = _backbone(_Graph(np.random.default_rng(spec.seed)), spec)
    _normalise(net, images)
    _fill(net)
    centres, _ = _anchors(net.grids, spec.imgsz)
    cal = _calibration(np.random.default_rng(spec.seed + 1), spec, centres)
    # One pass at bias 0; a bias b only shifts the slots' logits, so each bisection step
    # rescores those in numpy and runs edge's decoder (thresholds and NMS) on the result.
    sess = _session(_decoded(_clone(net), spec, cal, _bias_map(cal, 0.0), True))
    preds = [sess.run(["output0"], {"images": images[i : i + 1]})[0][0] for i in range(len(images))]  # type: ignore[attr-defined]
    params = InferenceParams(confidence=CONFIDENCE, overlap=OVERLAP)
    rows = 4 + cal.slot_class

    def median_count(b: float) -> float:
        counts = []
        for p in preds:
            q = p.copy()
            s = np.clip(q[rows, cal.slot_anchor], 1e-7, 1 - 1e-7)
            q[rows, cal.slot_anchor] = 1 / (1 + np.exp(-(np.log(s / (1 - s)) + b)))
            counts.append(len(select(q, NC, params).confidence))
        return float(np.median(counts))

    lo, hi = -8.0, 8.0
    for _ in range(20):  # bisection on the slots' bias: a median of spec.instances a frame
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if median_count(mid) < spec.instances else (lo, mid)
    seg = _decoded(_clone(net), spec, cal, _bias_map(cal, hi), True)
    det = _decoded(_clone(net), spec, cal, _bias_map(cal, hi), False)
    return seg, det, hi


def outline_stats(model_path: Path, clip: Path) -> str:
    """Instances, box sizes, vertices and v1 JSON bytes per frame through edge's own decoder."""
    from edge.jsonfast import dumps_bytes
    from edge.model import Model
    from edge.preprocess import preprocess
    from edge.tasks.decode import decode_batch

    params = InferenceParams(confidence=CONFIDENCE, overlap=OVERLAP)
    counts, widths, heights, verts, sizes = [], [], [], [], []
    with Model.open(model_path) as model:
        names = [o.name for o in model.backend.outputs]
        for frame in read_frames(clip, 10):
            tensor, geoms = preprocess([frame], model.spec.preprocess)
            result = decode_batch(model.spec, model.backend.infer(tensor), geoms, params, names)[0]
            counts.append(len(result.confidence))
            wh = result.xyxy[:, 2:] - result.xyxy[:, :2]
            widths += wh[:, 0].tolist()
            heights += wh[:, 1].tolist()
            polygons = getattr(result, "polygons", None)
            if callable(polygons):
                verts += [len(p) for p in polygons()]
            sizes.append(len(dumps_bytes(result.to_v1(inference_id="x", time=0.0))))
    line = (
        f"{model_path.name}: instances a frame median {np.median(counts):.0f} ({min(counts)}-{max(counts)}), "
        f"box median {np.median(widths):.0f}x{np.median(heights):.0f} px"
    )
    if verts:
        line += f", vertices median {np.median(verts):.0f} p95 {np.percentile(verts, 95):.0f}"
    return line + f", v1 JSON {np.median(sizes) / 1e6:.2f} MB a frame"


def make(spec: Spec, out_dir: Path, codec: str = "x264", verbose: bool = True) -> tuple[Path, Path, Path]:
    """Write the clip and both models under ``out_dir``; returns (segment, detect, clip)."""
    clip = out_dir / "large-crowd-720p.mp4"
    seg_path = out_dir / "models" / "large-crowd-segment-640.onnx"
    det_path = out_dir / "models" / "large-crowd-detect-640.onnx"
    write_clip(spec, clip, codec)
    frames = read_frames(clip, max(1, spec.frames // 8))
    seg, det, bias = build(spec, frames)
    seg_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=seg_path.parent) as tmp:
        for model, path in ((seg, seg_path), (det, det_path)):
            t = Path(tmp) / path.name
            onnx.save(model, str(t))
            t.replace(path)
    if verbose:
        print(f"slot bias {bias:.3f}; wrote {clip}, {seg_path}, {det_path}")
        print(outline_stats(seg_path, clip))
    return seg_path, det_path, clip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", default=str(ROOT / "benchmarks"), help="folder for the clip and models/ (default benchmarks/)"
    )
    ap.add_argument("--seed", type=int, default=Spec.seed)
    ap.add_argument("--frames", type=int, default=Spec.frames)
    ap.add_argument("--instances", type=int, default=Spec.instances, help="median instances a frame to calibrate to")
    ap.add_argument("--fill", type=float, default=Spec.fill, help="coefficient of the constant prototype")
    ap.add_argument("--codec", choices=("x264", "mp4v"), default="x264")
    a = ap.parse_args()
    spec = Spec(frames=a.frames, instances=a.instances, fill=a.fill, seed=a.seed)
    make(spec, Path(a.out), a.codec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
