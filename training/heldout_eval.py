"""Held-out evaluation of a patch-detector recipe at its operating point.

    /usr/bin/python3 -m training.heldout_eval --dataset data/general --out runs/heldout-B \
        --folds REAL/food,REAL/grocery,... -- <train_patches arguments>

A fold names what it holds out: one REAL source (`REAL/<source>`), a generator family (one of
GENERATOR_FAMILIES, `family:<name>`), or an aligned family (`FAKE/aligned-<family>`). The recipe
is trained again without it (its images in both splits, and the aligned fakes of a held-out REAL
source), with the schedule given after `--` (state it when reporting). Each fold then sets its own
operating point on its in-source validation split only (training/operating_point.py: at most
--target-fpr of the validation REAL photos called AI, at most --target-fnr of the validation
fakes called real), and reports:

- held-out REAL source: the share of its photos called AI (the false-positive rate on a collection
  the model never saw, with its 95 % interval), called real and uncertain; ROC-AUC of its photos
  against the validation images of every generator folder;
- every generator the fold did not train on (a held-out family; with --generators exclude, all of
  them): the share of its images called AI and its ROC-AUC against the in-source validation REAL
  photos;
- held-out aligned family: the share of its validation reconstructions called AI;
- in-source: the validation split's uncertain share (dataset images, aligned fakes apart) and the
  share flagged out of distribution.

Nothing reported is used to choose anything: thresholds come from in-source validation, and
the recipe to publish is chosen by the rule stated in the model card before the folds run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .cli_config import as_record, from_namespace
from .constants import PATCH_DISAGREEMENT_LOGIT_STD
from .metrics import roc_auc
from .operating_point import decisions, operating_point
from .patch_data import SourcedItem, list_sourced
from .image_decode import decode_file
from .progress_log import say
from .train_patches import (
    PatchTrainingConfig,
    calibration_mask,
    fitted_logit_scale,
    ood_statistics,
    parse_args as trainer_args,
    score_pixels,
    sigmoid,
    split_items,
    train,
)


@dataclass(frozen=True)
class HeldOutConfig:
    """The folds to hold out and how to report them (the recipe's trainer settings come apart)."""

    dataset: Path
    out: Path
    folds: str
    max_test: int
    target_fpr: float
    target_fnr: float
    shift_held_out: int


# Generator folders grouped by the family of model that made them (leave-one-family-out).
GENERATOR_FAMILIES = {
    "midjourney": ("midjourney-v3", "midjourney-v4", "shoes-midjourney"),
    "dalle": ("dalle2", "dalle-mini"),
    "stable-diffusion": ("sd", "sd-beta", "sd14-lora", "sdxl-lora", "sd-unknown", "latent-diffusion"),
    "other-diffusion-and-gan": ("glid3", "disco-diffusion", "pixray", "majesty-diffusion"),
}


class PixelCache:
    """Decoded images by path, decoded once for every fold."""

    def __init__(self, root: Path):
        self.root = root
        self.pixels: dict[str, np.ndarray] = {}

    def get(self, items: Sequence[SourcedItem]) -> list[np.ndarray]:
        for it in items:
            if it.path not in self.pixels:
                self.pixels[it.path] = np.asarray(decode_file(self.root / it.path), dtype=np.uint8)
        return [self.pixels[it.path] for it in items]


def held_keys(fold: str) -> set[str]:
    if fold.startswith("family:"):
        return {f"FAKE/{g}" for g in GENERATOR_FAMILIES[fold.split(":", 1)[1]]}
    return {fold}


def sample(items: list[SourcedItem], n: int, seed: int) -> list[SourcedItem]:
    if len(items) <= n:
        return items
    rng = np.random.default_rng(seed)
    return [items[i] for i in sorted(rng.choice(len(items), size=n, replace=False).tolist())]


def run_fold(args: HeldOutConfig, targs: PatchTrainingConfig, fold: str, cache: PixelCache) -> dict:
    started = time.time()
    root = args.dataset
    held = held_keys(fold)
    train_items, pairs = split_items(targs, root, "train", held)
    val_items, _ = split_items(targs, root, "val", held)
    calibration = calibration_mask(train_items, pairs, targs.calibration_share)
    model, _ = train(targs, root, train_items, cache.get(train_items), pairs=pairs, held_apart=calibration)
    val_scored = score_pixels(model, cache.get(val_items), targs.patch_size, targs.patches)
    stats = ood_statistics(model, targs, cache.get(train_items), val_scored["embedding"])
    scale = fitted_logit_scale(model, targs, train_items, cache.get(train_items), calibration, stats)
    val_probs = sigmoid(scale * val_scored["logit"])

    def pixel_probs(pixels: Sequence[np.ndarray]) -> np.ndarray:
        """P(AI) of decoded images as this fold's model answers them (its calibration factor included)."""
        return sigmoid(scale * score_pixels(model, pixels, targs.patch_size, targs.patches)["logit"])

    def probs(items: Sequence[SourcedItem]) -> np.ndarray:
        return pixel_probs(cache.get(items))

    val_labels = np.array([it.label for it in val_items])
    point = operating_point(val_probs[val_labels == 0], val_probs[val_labels == 1], args.target_fpr, args.target_fnr)
    dataset_val = np.array([not it.source.startswith("aligned-") for it in val_items])
    in_source = decisions(val_probs[dataset_val], point)
    row: dict = {
        "fold": fold,
        "held_out": sorted(held),
        "train_images": len(train_items),
        "operating_point": {"ai_threshold": point.ai_threshold, "real_threshold": point.real_threshold, "logit_scale": scale},
        "in_source": {
            **in_source,
            "ood_flagged": float((stats.val_distance[dataset_val] > stats.threshold).mean()),
            "patches_disagree": float((val_scored["logit_std"][dataset_val] > PATCH_DISAGREEMENT_LOGIT_STD).mean()),
            "roc_auc": roc_auc(val_labels[dataset_val], val_probs[dataset_val]),
        },
    }
    dataset_val_items = list_sourced(root, "val")
    all_items = list_sourced(root, "train") + dataset_val_items
    generator_val = [it for it in dataset_val_items if it.label == 1]
    gen_probs = probs(sample(generator_val, args.max_test, targs.seed))
    real_val_probs = val_probs[(val_labels == 0) & dataset_val]
    if fold.startswith("REAL/"):
        photos = sample([it for it in all_items if it.key == fold], args.max_test, targs.seed)
        p = probs(photos)
        labels = np.concatenate([np.zeros(len(p)), np.ones(len(gen_probs))])
        row["held_out_real"] = {**decisions(p, point), "roc_auc_vs_generators": roc_auc(labels, np.concatenate([p, gen_probs]))}
        if args.shift_held_out > 0:
            # The same photos less their first rows and columns: any grid an earlier JPEG compression
            # left in them no longer falls on the patch grid (a diagnostic, not a target).
            k = args.shift_held_out
            shifted = pixel_probs([img[k:, k:] for img in cache.get(photos)])
            row["held_out_real_shifted"] = {
                **decisions(shifted, point),
                "shift": k,
                "roc_auc_vs_generators": roc_auc(labels, np.concatenate([shifted, gen_probs])),
            }
        # Every score, so that a threshold can be set on the other folds' held-out real photos and tried on these.
        row["scores"] = {
            "held_out_real": [round(float(v), 5) for v in p],
            "generators": [round(float(v), 5) for v in gen_probs],
            # The fold's own validation split (its photos and their reconstructions), to read its uncertain share at other thresholds.
            "in_source_real": [round(float(v), 5) for v in val_probs[val_labels == 0]],
            "in_source_fake": [round(float(v), 5) for v in val_probs[val_labels == 1]],
        }
    trained_sources = {it.key for it in train_items}
    generators = sorted({it.key for it in all_items if it.label == 1} - trained_sources)
    row["held_out_generators"] = {}
    for key in generators:
        images = sample([it for it in all_items if it.key == key], args.max_test, targs.seed)
        p = probs(images)
        labels = np.concatenate([np.zeros(len(real_val_probs)), np.ones(len(p))])
        row["held_out_generators"][key] = {**decisions(p, point), "roc_auc": roc_auc(labels, np.concatenate([real_val_probs, p]))}
    if fold.startswith("FAKE/aligned-"):
        family = fold.split("aligned-", 1)[1]
        held_targs = replace(targs, aligned_families=family, generators="exclude")
        fakes = [it for it in split_items(held_targs, root, "val", set())[0] if it.source == f"aligned-{family}"]
        p = probs(sample(fakes, args.max_test, targs.seed))
        row["held_out_aligned"] = decisions(p, point)
    row["seconds"] = round(time.time() - started, 1)
    say(f"{fold}: in-source uncertain {in_source['uncertain']:.3f}; " + json.dumps({k: v for k, v in row.items() if k.startswith("held_out_real")})[:300])
    return row


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(argv) if argv is not None else sys.argv[1:]
    rest = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--folds", required=True, help="comma-separated: REAL/<source>, family:<name>, FAKE/aligned-<family>")
    p.add_argument("--max-test", type=int, default=300)
    p.add_argument("--target-fpr", type=float, default=0.02)
    p.add_argument("--target-fnr", type=float, default=0.02)
    p.add_argument(
        "--shift-held-out",
        type=int,
        default=0,
        help="also score each held-out REAL collection's photos cropped by this many pixels at the top and left (moves any earlier JPEG grid off the patch grid)",
    )
    args = from_namespace(HeldOutConfig, p.parse_args(own))
    targs = trainer_args(["--dataset", str(args.dataset), "--out", str(args.out), *rest])
    torch.set_num_threads(targs.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    out_file = args.out / "heldout.json"
    result = json.loads(out_file.read_text()) if out_file.exists() else {"folds": []}
    result["recipe"] = as_record(targs)
    result["command"] = "/usr/bin/python3 -m training.heldout_eval " + " ".join(argv)
    result["targets"] = {"fpr": args.target_fpr, "fnr": args.target_fnr}
    done = {row["fold"] for row in result["folds"]}
    cache = PixelCache(args.dataset)
    for fold in args.folds.split(","):
        if fold in done:
            continue
        result["folds"].append(run_fold(args, targs, fold, cache))
        out_file.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
