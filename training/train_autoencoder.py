"""Trains one small autoencoder family on the real photos of a dataset (for aligned fakes).

    /usr/bin/python3 -m training.train_autoencoder --dataset data/general --family nearest-x4 --out runs/ae/nearest-x4.pt

A family is `<upsampling>-x<factor>` (autoencoders.UPSAMPLING; factor 4 or 8). The model learns
to reconstruct random crops of the REAL training photos (L1 loss, a fixed number of steps, no
validation: it is a trace generator, not a model we report), and its state is saved with its
family so that training/aligned_fakes.py can rebuild it.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .autoencoders import Autoencoder, small_autoencoder
from .patch_data import list_sourced, load_pixels
from .progress_log import say


@dataclass(frozen=True)
class AutoencoderConfig:
    dataset: Path
    family: str
    out: Path
    steps: int = 400
    crop: int = 64
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 42
    threads: int = 2


def parse_family(family: str) -> tuple[str, int]:
    """`nearest-x4` → ("nearest", 4)."""
    upsampling, _, factor = family.rpartition("-x")
    if not upsampling or not factor.isdigit():
        raise ValueError(f"family {family!r}; expected <upsampling>-x<factor>, e.g. nearest-x4")
    return upsampling, int(factor)


def build_family(family: str) -> Autoencoder:
    upsampling, factor = parse_family(family)
    return small_autoencoder(upsampling, factor)


def load_family(path: Path) -> Autoencoder:
    saved = torch.load(path, map_location="cpu")
    model = build_family(saved["family"])
    model.load_state_dict(saved["state"])
    return model.eval()


def random_crops(pixels: Sequence[np.ndarray], rng: random.Random, crop: int, count: int) -> torch.Tensor:
    out = np.empty((count, crop, crop, 3), dtype=np.uint8)
    for k in range(count):
        img = pixels[rng.randrange(len(pixels))]
        h, w = img.shape[:2]
        y, x = rng.randrange(0, max(1, h - crop + 1)), rng.randrange(0, max(1, w - crop + 1))
        patch = img[y : y + crop, x : x + crop]
        if patch.shape[0] < crop or patch.shape[1] < crop:
            patch = np.pad(patch, ((0, crop - patch.shape[0]), (0, crop - patch.shape[1]), (0, 0)), mode="edge")
        out[k] = patch
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div(255.0).contiguous(memory_format=torch.channels_last)


def train_autoencoder(cfg: AutoencoderConfig) -> dict:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    items = [it for it in list_sourced(cfg.dataset, "train") if it.label == 0]
    # A seeded sample is plenty: the model learns a generic decoder, not the collections.
    items = rng.sample(items, min(len(items), 800))
    pixels = load_pixels(cfg.dataset, items)
    model = build_family(cfg.family).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    started = time.time()
    loss_value = float("nan")
    for step in range(cfg.steps):
        x = random_crops(pixels, rng, cfg.crop, cfg.batch_size)
        loss = torch.nn.functional.l1_loss(model(x), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        loss_value = float(loss)
        if (step + 1) % 100 == 0:
            say(f"{cfg.family} step {step + 1}/{cfg.steps} L1 {loss_value:.4f}")
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"family": cfg.family, "state": model.state_dict(), "steps": cfg.steps, "l1": loss_value}, cfg.out)
    return {"family": cfg.family, "l1": loss_value, "seconds": round(time.time() - started, 1)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--family", required=True)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    result = train_autoencoder(AutoencoderConfig(a.dataset, a.family, a.out, steps=a.steps, seed=a.seed, threads=a.threads))
    say(f"{result['family']}: L1 {result['l1']:.4f} in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
