"""The patch detector: where patches are taken, the input representations, the network and how
patch scores become one probability.

`patch_grid` is mirrored exactly by functions/src/detector/image/patch-grid.ts (serving); a shared table of
cases (functions/test/fixtures/patch-grid-cases.json) is checked by both test suites.

Aggregation: the image's logit is the mean of its patch logits (a geometric mean of the patch odds),
so one confidently wrong patch cannot decide an image alone; P(AI) = sigmoid(s · mean logit), with
the calibration factor s (metadata.patches.logit_scale, fitted on training images). The
image's embedding, for the out-of-distribution score, is the mean of its patch embeddings.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ALIGN = 8  # patch corners on the 8×8 JPEG block grid
REPRESENTATIONS = ("rgb", "highpass", "npr")
EMBEDDING_NAME = "embedding"


def _positions(extent: int, size: int, n: int) -> list[int]:
    if extent <= size:
        return [0]
    span = extent - size
    if n == 1:
        return [(span // 2) // ALIGN * ALIGN]
    return [((i * span) // (n - 1)) // ALIGN * ALIGN for i in range(n)]


def patch_grid(width: int, height: int, size: int, count: int) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) of at most `count` patches of `size` px spread evenly over the image,
    row by row, corners aligned to 8 px. A side shorter than `size` gives boxes as long as that
    side (the patch is then padded by edge replication)."""
    if width < 1 or height < 1 or size < 1 or count < 1:
        raise ValueError(f"patch_grid needs positive sizes, got {width}x{height}, size {size}, count {count}")
    cols_fit = max(1, width // size)
    rows_fit = max(1, height // size)
    cols = max(1, min(cols_fit, math.floor(math.sqrt(count * width / height) + 0.5)))
    rows = max(1, min(rows_fit, count // cols))
    cols = max(1, min(cols_fit, count // rows))
    xs = _positions(width, size, cols)
    ys = _positions(height, size, rows)
    w, h = min(size, width), min(size, height)
    return [(x, y, w, h) for y in ys for x in xs]


def extract_patches(pixels: np.ndarray, boxes: list[tuple[int, int, int, int]], size: int) -> np.ndarray:
    """[K, size, size, 3] uint8 patches of an [H, W, 3] image, edge-padded where a side is short."""
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    for i, (x, y, w, h) in enumerate(boxes):
        patch = pixels[y : y + h, x : x + w]
        if w < size or h < size:
            patch = np.pad(patch, ((0, size - h), (0, size - w), (0, 0)), mode="edge")
        out[i] = patch
    return out


class Representation(nn.Module):
    """The fixed first step: raw RGB, a high-pass residual (3×3 Laplacian per channel), or the
    neighbouring-pixel residual of Tan et al. (CVPR 2024): x − up(down(x)), nearest, factor 2."""

    def __init__(self, kind: str):
        super().__init__()
        if kind not in REPRESENTATIONS:
            raise ValueError(f"representation {kind!r}; expected one of {', '.join(REPRESENTATIONS)}")
        self.kind = kind
        lap = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]]) / 4.0
        self.register_buffer("laplacian", lap.expand(3, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "highpass":
            return F.conv2d(x, self.laplacian, padding=1, groups=3) * 4.0
        if self.kind == "npr":
            down = x[:, :, 0::2, 0::2]
            return (x - down.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)) * 2.0
        return x


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PatchNet(nn.Module):
    """Small CNN over one patch: returns (logit of P(AI) [N, 1], embedding [N, D])."""

    def __init__(self, representation: str = "npr", width: int = 16, dropout: float = 0.1):
        super().__init__()
        w = width
        self.representation = Representation(representation)
        self.features = nn.Sequential(
            _conv(3, w, 1),
            _conv(w, 2 * w, 2),
            _conv(2 * w, 4 * w, 2),
            _conv(4 * w, 4 * w, 1),
            _conv(4 * w, 6 * w, 2),
            _conv(6 * w, 6 * w, 1),
        )
        self.embedding_size = 6 * w
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(6 * w, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(self.representation(x))
        embedding = h.mean(dim=(2, 3))
        return self.head(self.dropout(embedding)), embedding


def aggregate(patch_logits: np.ndarray, logit_scale: float = 1.0) -> float:
    """One image's P(AI) from its patch logits: sigmoid of their mean, times the calibration factor."""
    return float(1.0 / (1.0 + math.exp(-logit_scale * float(np.mean(patch_logits)))))
