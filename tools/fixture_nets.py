"""Plain-PyTorch fixture models for the tasks Ultralytics does not train the way we need.

Used only by ``tools/train_fixtures.py``; never imported by ``edge/``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MultiLabelNet(nn.Module):
    """Small CNN; outputs per-class probabilities (sigmoid inside the graph)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        widths = (16, 32, 64, 96, 128)
        layers: list[nn.Module] = []
        cin = 3
        for w in widths:
            layers.append(_block(cin, w, 2))
            cin = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        return self.head(f.amax(dim=(2, 3)))  # max-pool: presence of a shape anywhere

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class SegNet(nn.Module):
    """Small U-Net; outputs (B, C, H, W) logits at the input resolution."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        # Starts at half resolution: full-resolution features cost most and add little here.
        self.enc = nn.ModuleList([_block(3, 16, 2), _block(16, 32, 2), _block(32, 48, 2), _block(48, 64, 2)])
        self.dec = nn.ModuleList([_block(64 + 48, 48, 1), _block(48 + 32, 32, 1), _block(32 + 16, 24, 1)])
        self.out = nn.Conv2d(24, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for layer in self.enc:
            x = layer(x)
            skips.append(x)
        x = skips.pop()
        for layer in self.dec:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = layer(torch.cat([x, skip], dim=1))
        x = self.out(x)  # at 1/2 resolution
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
