"""Train the plain-PyTorch fixture models (multi-label classification, semantic segmentation).

Called by ``tools/train_fixtures.py``. Inputs are prepared with ``edge.preprocess`` itself, so
the exported models see at inference exactly what they saw in training.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from edge.demo.shapes import SEMANTIC_CLASSES, SHAPE_CLASSES, SceneKind, draw_scene
from edge.preprocess import PreprocessConfig, ResizeMode, plan_geometry, resize_image, to_tensor
from tools.fixture_nets import MultiLabelNet, SegNet

MULTILABEL_SIZE = 128
SEMANTIC_SIZE = 192


def _random_size(rng: np.random.Generator) -> tuple[int, int]:
    w = int(rng.integers(240, 681))
    return w, int(np.clip(w * rng.uniform(0.6, 1.4), 240, 680))


def _label_map(semantic: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    g = plan_geometry(semantic.shape[1], semantic.shape[0], cfg)
    new_w, new_h = round(g.src_w * g.scale_x), round(g.src_h * g.scale_y)
    small = cv2.resize(semantic, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
    out = np.zeros((cfg.height, cfg.width), dtype=np.int64)
    ox, oy = int(g.offset_x), int(g.offset_y)
    out[oy : oy + new_h, ox : ox + new_w] = small
    return out


def _dataset(
    kind: SceneKind, n: int, rng: np.random.Generator, cfg: PreprocessConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for _ in range(n):
        sc = draw_scene(rng, *_random_size(rng), kind)
        placed, _ = resize_image(sc.image, cfg)
        xs.append(placed)
        if kind is SceneKind.MULTILABEL:
            y = np.zeros(len(SHAPE_CLASSES), dtype=np.float32)
            y[list(sc.labels)] = 1.0
            ys.append(y)
        else:
            ys.append(_label_map(sc.semantic, cfg))
    return torch.from_numpy(to_tensor(xs, cfg)), torch.from_numpy(np.stack(ys))


def _export(model: torch.nn.Module, dst: Path, size: int, metadata: dict[str, str]) -> None:
    import onnx

    model.eval()
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, size, size),),
        str(dst),
        input_names=["images"],
        output_names=["output0"],
        dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    m = onnx.load(str(dst))
    for key, value in metadata.items():
        prop = m.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(m)
    onnx.save(m, str(dst))


def _train(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, loss_fn, seed: int) -> None:  # type: ignore[no-untyped-def]
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * ((len(x) + 31) // 32)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    model.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), 32):
            idx = perm[i : i + 32]
            xb, yb = x[idx], y[idx]
            # Flips and quarter turns keep every label valid (the network input is square).
            if torch.rand(1, generator=gen).item() < 0.5:
                xb, yb = xb.flip(-1), (yb.flip(-1) if yb.ndim == 3 else yb)
            k = int(torch.randint(4, (1,), generator=gen))
            if k:
                xb, yb = xb.rot90(k, (2, 3)), (yb.rot90(k, (1, 2)) if yb.ndim == 3 else yb)
            loss = loss_fn(model, xb.contiguous(), yb.contiguous())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        print(f"  epoch {epoch + 1}/{epochs} loss {total / len(x):.4f}", flush=True)


def _multilabel_loss(model: MultiLabelNet, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(model.logits(xb), yb)


def _semantic_loss(model: SegNet, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
    logits = model(xb)
    # Background covers most pixels; weighting it down and adding a soft Dice term keeps
    # the net from settling on "all background".
    weight = torch.tensor([0.3, 1.0, 1.0, 1.0])
    ce = F.cross_entropy(logits, yb, weight=weight)
    prob = logits.softmax(1)
    onehot = F.one_hot(yb, prob.shape[1]).permute(0, 3, 1, 2).float()
    inter = (prob * onehot).sum((0, 2, 3))
    dice = 1 - (2 * inter + 1) / (prob.sum((0, 2, 3)) + onehot.sum((0, 2, 3)) + 1)
    return ce + dice.mean()


def train_plain(task: str, work: Path, seed: int, quick: bool, models_dir: Path) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(seed + 1000)
    t0 = time.time()
    if task == "multilabel":
        cfg = PreprocessConfig(MULTILABEL_SIZE, MULTILABEL_SIZE, ResizeMode.LETTERBOX, 114)
        x, y = _dataset(SceneKind.MULTILABEL, 64 if quick else 4000, rng, cfg)
        model: torch.nn.Module = MultiLabelNet(len(SHAPE_CLASSES))
        _train(model, x, y, 1 if quick else 30, _multilabel_loss, seed)
        names = dict(enumerate(SHAPE_CLASSES))
        meta = {"task": "classify", "multi_label": "True"}
        size = MULTILABEL_SIZE
    elif task == "semantic":
        cfg = PreprocessConfig(SEMANTIC_SIZE, SEMANTIC_SIZE, ResizeMode.LETTERBOX, 114)
        x, y = _dataset(SceneKind.DETECT, 64 if quick else 2000, rng, cfg)
        model = SegNet(len(SEMANTIC_CLASSES))
        _train(model, x, y, 1 if quick else 25, _semantic_loss, seed)
        names = dict(enumerate(SEMANTIC_CLASSES))
        meta = {"task": "semantic"}
        size = SEMANTIC_SIZE
    else:
        raise SystemExit(f"unknown task {task!r}")
    print(f"[{task}] trained in {time.time() - t0:.0f} s", flush=True)
    meta |= {
        "names": repr(names),
        "imgsz": f"[{size}, {size}]",
        "resize_mode": "letterbox",
        "pad_value": "114",
        "author": "edge tools/train_fixtures.py",
    }
    dst = models_dir / f"shapes-{task}.onnx"
    _export(model, dst, size, meta)
    print(f"[{task}] wrote {dst} ({dst.stat().st_size / 1e6:.1f} MB)", flush=True)
