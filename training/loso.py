"""Leave-one-source-out evaluation of the patch detector's recipe.

    python3 -m training.loso --dataset data/general --out runs/loso -- <train_patches arguments>

For every source (REAL/<source> and FAKE/<source>) the recipe is trained again without it (train
and val images of that source both left out), with the schedule given after `--` (state it when
reporting: held-out runs may be shorter than the published model's). Its threshold and
out-of-distribution statistics come from that run's own in-source validation split. It is then
tested on the held-out source (up to --max-test images of it) against validation images of
the other class (up to --max-test of them), which that run never trained on either:
  roc_auc     held-out images vs the other class's validation images
  accuracy    on the held-out images alone, at the run's validation threshold
  coverage    share of held-out images decided (not out of distribution)
  wrong       share of held-out images decided wrongly (wrong and not out of distribution)
and the same after JPEG quality 75 and after a downscale to 512 px on the long side (an identity
for images already within 512 px, as all of these are; stated in the table), plus a 0.5×
downscale. In-source validation coverage of each run is recorded too.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from .cli_config import as_record, from_namespace
from .metrics import binary_metrics, roc_auc
from .patch_data import list_sourced, load_pixels
from .progress_log import say
from .train_patches import (
    Pairs,
    PatchTrainingConfig,
    calibration_mask,
    choose_threshold,
    ood_distance,
    ood_statistics,
    parse_args as trainer_args,
    score_pixels,
    sigmoid,
    train,
)


@dataclass(frozen=True)
class LosoConfig:
    """Which sources to hold out in turn (the recipe's trainer settings come apart)."""

    dataset: Path
    out: Path
    sources: Optional[str]
    max_test: int


VARIANTS = ("original", "jpeg75", "long512", "half")


def variant(pixels: np.ndarray, name: str) -> np.ndarray:
    if name == "original":
        return pixels
    img = Image.fromarray(pixels)
    if name == "jpeg75":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=75)
        buf.seek(0)
        return np.asarray(Image.open(buf).convert("RGB"))
    if name == "long512":
        long_side = max(img.size)
        if long_side <= 512:
            return pixels
        scale = 512 / long_side
        return np.asarray(img.resize((round(img.width * scale), round(img.height * scale)), Image.BILINEAR))
    if name == "half":
        return np.asarray(img.resize((max(1, img.width // 2), max(1, img.height // 2)), Image.BILINEAR))
    raise ValueError(name)


def fold(args: LosoConfig, targs: PatchTrainingConfig, key: str, items_train, px_train, items_val, px_val, held, px_held) -> dict:
    started = time.time()
    keep = [i for i, it in enumerate(items_train) if it.key != key]
    fold_items = [items_train[i] for i in keep]
    # The recipe's calibration split stays out of the fold's training draws too, as it does for the model.
    held_apart = calibration_mask(fold_items, Pairs.none(len(fold_items)), targs.calibration_share)
    model, _ = train(targs, args.dataset, fold_items, [px_train[i] for i in keep], held_apart=held_apart)
    vkeep = [i for i, it in enumerate(items_val) if it.key != key]
    v_items = [items_val[i] for i in vkeep]
    v_px = [px_val[i] for i in vkeep]
    val = score_pixels(model, v_px, targs.patch_size, targs.patches)
    v_labels = np.array([it.label for it in v_items])
    v_probs = sigmoid(val["logit"])
    threshold = choose_threshold(v_labels, v_probs)
    stats = ood_statistics(model, targs, [px_train[i] for i in keep], val["embedding"])
    ood, v_dist, ood_threshold = stats.ood, stats.val_distance, stats.threshold
    held_label = held[0].label
    other = [i for i, it in enumerate(v_items) if it.label != held_label]
    other = sorted(np.random.default_rng(targs.seed).choice(other, size=min(args.max_test, len(other)), replace=False).tolist())
    row = {
        "source": key,
        "held_out_images": len(held),
        "in_source_val": {**binary_metrics(v_labels, v_probs, threshold), "coverage": float((v_dist <= ood_threshold).mean())},
        "threshold": threshold,
    }
    for name in VARIANTS:
        if name == "long512" and all(max(p.shape[:2]) <= 512 for p in px_held + [v_px[i] for i in other]):
            row[name] = {**row["original"], "identity": True}
            continue
        h = score_pixels(model, [variant(p, name) for p in px_held], targs.patch_size, targs.patches)
        o = score_pixels(model, [variant(v_px[i], name) for i in other], targs.patch_size, targs.patches)
        hp, op = sigmoid(h["logit"]), sigmoid(o["logit"])
        labels = np.concatenate([np.full(len(hp), held_label), np.full(len(op), 1 - held_label)])
        auc = roc_auc(labels, np.concatenate([hp, op]))
        correct = (hp >= threshold) == bool(held_label)
        decided = ood_distance(h["embedding"], ood) <= ood_threshold
        row[name] = {
            "roc_auc": auc,
            "accuracy": float(correct.mean()),
            "coverage": float(decided.mean()),
            "wrong": float((decided & ~correct).mean()),
        }
    row["seconds"] = round(time.time() - started, 1)
    say(
        f"{key}: AUC {row['original']['roc_auc']:.3f} acc {row['original']['accuracy']:.3f} coverage {row['original']['coverage']:.3f} wrong {row['original']['wrong']:.3f} ({row['seconds']} s)"
    )
    return row


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(argv) if argv is not None else sys.argv[1:]
    rest = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description="Leave-one-source-out evaluation of a patch-detector recipe.")
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--sources", help="comma-separated CLASS/source keys (default: every source)")
    p.add_argument("--max-test", type=int, default=300, help="held-out images tested per source (seeded sample)")
    args = from_namespace(LosoConfig, p.parse_args(own))
    targs = trainer_args(["--dataset", str(args.dataset), "--out", str(args.out), *rest])
    if targs.aligned_families:
        p.error(
            "aligned fakes (--aligned-families) are not paired here; evaluate such a recipe with python3 -m training.heldout_eval (recipe evaluation.held_out)"
        )
    torch.set_num_threads(targs.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    items_train, items_val = list_sourced(args.dataset, "train"), list_sourced(args.dataset, "val")
    say(f"decoding {len(items_train) + len(items_val)} images")
    px_train, px_val = load_pixels(args.dataset, items_train), load_pixels(args.dataset, items_val)
    keys = sorted({it.key for it in items_train}) if not args.sources else args.sources.split(",")
    out_file = args.out / "loso.json"
    result = json.loads(out_file.read_text()) if out_file.exists() else {"folds": []}
    result["recipe"] = as_record(targs)
    done = {row["source"] for row in result["folds"]}
    for key in keys:
        if key in done:
            continue
        held_all = [(it, px) for it, px in zip(items_train + items_val, px_train + px_val) if it.key == key]
        random.Random(targs.seed).shuffle(held_all)
        held_all = held_all[: args.max_test]
        row = fold(args, targs, key, items_train, px_train, items_val, px_val, [h[0] for h in held_all], [h[1] for h in held_all])
        result["folds"].append(row)
        out_file.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
