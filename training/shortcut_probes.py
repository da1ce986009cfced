"""Which shortcuts a run may still use.

    python3 -m training.shortcut_probes runs/general --dataset data/general

1. File-level features alone: format, width, height, bytes and a JPEG quality estimate (from the
   luminance quantisation table) go into a depth-4 decision tree trained on the training split;
   its validation accuracy is what a detector could reach without looking at a single pixel.
2. Source probe: a linear (softmax) classifier on the detector's pooled patch embedding, trained
   to tell the REAL sources apart on training photos (at most --per-source of each) and measured on
   validation photos. Near chance means the embedding no longer knows which collection a real photo
   came from; far above chance means it does, and may be using it.
Writes <run>/probes.json (read by the pipeline's model card).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from .patch_data import list_sourced, load_pixels
from .train_patches import load_patchnet, score_pixels

FEATURES = ("format_jpeg", "format_png", "format_webp", "width", "height", "bytes", "jpeg_quality")
# The IJG standard luminance table (quality 50), for the quality estimate.
_STD_LUMA = np.array(
    [
        16,
        11,
        10,
        16,
        24,
        40,
        51,
        61,
        12,
        12,
        14,
        19,
        26,
        58,
        60,
        55,
        14,
        13,
        16,
        24,
        40,
        57,
        69,
        56,
        14,
        17,
        22,
        29,
        51,
        87,
        80,
        62,
        18,
        22,
        37,
        56,
        68,
        109,
        103,
        77,
        24,
        35,
        55,
        64,
        81,
        104,
        113,
        92,
        49,
        64,
        78,
        87,
        103,
        121,
        120,
        101,
        72,
        92,
        95,
        98,
        112,
        100,
        103,
        99,
    ],
    dtype=np.float64,
)


def jpeg_quality(img: Image.Image) -> float:
    """IJG quality whose scaled standard table best matches the file's luminance table; 0 if not JPEG."""
    tables = getattr(img, "quantization", None)
    if not tables or 0 not in tables:
        return 0.0
    table = np.array(tables[0], dtype=np.float64)
    best, best_q = float("inf"), 0
    for q in range(1, 101):
        scale = 5000 / q if q < 50 else 200 - 2 * q
        expected = np.clip(np.floor((_STD_LUMA * scale + 50) / 100), 1, 255)
        error = float(np.abs(np.sort(expected) - np.sort(table)).sum())
        if error < best:
            best, best_q = error, q
    return float(best_q)


def file_features(path: Path) -> list[float]:
    with Image.open(path) as img:
        fmt = (img.format or "").upper()
        return [
            float(fmt == "JPEG"),
            float(fmt == "PNG"),
            float(fmt == "WEBP"),
            float(img.width),
            float(img.height),
            float(path.stat().st_size),
            jpeg_quality(img),
        ]


class Tree:
    """A small CART (Gini) for the file-feature probe."""

    def __init__(self, depth: int = 4, min_leaf: int = 5):
        self.depth, self.min_leaf = depth, min_leaf

    def fit(self, x: np.ndarray, y: np.ndarray) -> "Tree":
        self.node = self._grow(x, y, self.depth)
        return self

    def _grow(self, x, y, depth):
        leaf = ("leaf", float(y.mean()) if len(y) else 0.5)
        if depth == 0 or len(y) < 2 * self.min_leaf or y.min() == y.max():
            return leaf
        best = None
        for f in range(x.shape[1]):
            values = np.unique(x[:, f])
            for t in (values[:-1] + values[1:])[:: max(1, len(values) // 64)] / 2:
                left = x[:, f] <= t
                nl, nr = int(left.sum()), int((~left).sum())
                if nl < self.min_leaf or nr < self.min_leaf:
                    continue
                gini = sum(n * (1 - (m**2 + (1 - m) ** 2)) for n, m in ((nl, y[left].mean()), (nr, y[~left].mean())))
                if best is None or gini < best[0]:
                    best = (gini, f, float(t))
        if best is None:
            return leaf
        _, f, t = best
        left = x[:, f] <= t
        return ("split", f, t, self._grow(x[left], y[left], depth - 1), self._grow(x[~left], y[~left], depth - 1))

    def predict(self, x: np.ndarray) -> np.ndarray:
        def one(row, node):
            while node[0] == "split":
                node = node[3] if row[node[1]] <= node[2] else node[4]
            return node[1]

        return np.array([one(row, self.node) for row in x])


def softmax_probe(x_train, y_train, x_val, classes: int, steps: int = 500, lr: float = 0.5, l2: float = 1e-3) -> np.ndarray:
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    a, b = (x_train - mu) / sd, (x_val - mu) / sd
    w = np.zeros((a.shape[1], classes))
    bias = np.zeros(classes)
    onehot = np.eye(classes)[y_train]
    for _ in range(steps):
        z = a @ w + bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        w -= lr * (a.T @ (p - onehot) / len(a) + l2 * w)
        bias -= lr * (p - onehot).mean(axis=0)
    return (b @ w + bias).argmax(axis=1)


def probe(run_dir: Path, root: Path, per_source: int = 200, seed: int = 0) -> dict:
    train, val = list_sourced(root, "train"), list_sourced(root, "val")
    ftr = np.array([file_features(root / it.path) for it in train])
    fva = np.array([file_features(root / it.path) for it in val])
    ytr, yva = np.array([it.label for it in train]), np.array([it.label for it in val])
    tree = Tree().fit(ftr, ytr.astype(np.float64))
    file_accuracy = float(((tree.predict(fva) >= 0.5) == yva).mean())
    result = {
        "file_features": {
            "features": list(FEATURES),
            "classifier": "a depth-4 decision tree",
            "val_accuracy": file_accuracy,
            "chance": float(max(yva.mean(), 1 - yva.mean())),
            "n_train": len(train),
            "n_val": len(val),
        },
        "source_probe": None,
    }
    sources = sorted({it.source for it in train if it.label == 0})
    if len(sources) > 1:
        rng = np.random.default_rng(seed)
        chosen = []
        for source in sources:
            idx = [i for i, it in enumerate(train) if it.label == 0 and it.source == source]
            chosen += rng.choice(idx, size=min(per_source, len(idx)), replace=False).tolist()
        val_real = [it for it in val if it.label == 0 and it.source in sources]
        metadata = json.loads((run_dir / "metadata.json").read_text())
        model = load_patchnet(run_dir)
        size, count = metadata["patches"]["size"], metadata["patches"]["count"]
        etr = score_pixels(model, load_pixels(root, [train[i] for i in chosen]), size, count)["embedding"]
        eva = score_pixels(model, load_pixels(root, val_real), size, count)["embedding"]
        str_ = np.array([sources.index(train[i].source) for i in chosen])
        sva = np.array([sources.index(it.source) for it in val_real])
        predicted = softmax_probe(etr, str_, eva, len(sources))
        result["source_probe"] = {
            "sources": sources,
            "val_accuracy": float((predicted == sva).mean()),
            "chance": float(np.bincount(sva, minlength=len(sources)).max() / len(sva)),
            "n_train": len(chosen),
            "n_val": len(val_real),
        }
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--per-source", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = probe(args.run_dir, args.dataset, args.per_source)
    (args.run_dir / "probes.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
