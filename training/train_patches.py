"""Trains the patch detector (the `general` model) on a source-aware dataset folder.

    python3 -m training.train_patches --dataset data/general --out runs/general

Each step draws images with source-balanced weights (patch_data.balanced_weights), takes one
augmented patch from each (patch_data.augmented_patch) and trains PatchNet on P(AI) per patch.
Optionally an adversarial head (gradient reversal) learns to tell the REAL sources apart from the
embedding while the network is pushed to make that impossible: "which real collection" is a
nuisance, not a cue.

Writes to --out: model.onnx (outputs `logits` [N,1] per patch and `embedding` [N,D]),
metadata.json (preprocessing mode "patches", threshold chosen on validation, the
out-of-distribution statistics), checkpoint.pt, val_scores.json (every validation image: source,
label, P(AI), patch-logit spread, OOD distance) and training.json (arguments, per-epoch log, the
command line).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shlex
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from .aligned_fakes import build_aligned
from .checkpoint_io import load_model, save_checkpoint
from .cli_config import as_record, from_namespace
from .constants import MEAN, ONNX_OPSET, OUTPUT_NAME, STD
from .dataset_files import read_dataset_info, sha256_file
from .device import avoid_onednn_for_small_convolutions, resolve_device
from .run_files import ParityMeta, SplitMetrics, TrainingRecord, write_run_file
from .metadata import build_metadata, utc_now_iso
from .onnx_export import export_onnx
from .metrics import binary_metrics
from .operating_point import operating_point
from .patch_data import AUGMENT_LEVELS, PATCH_PHASES, PatchAugment, SourcedItem, patch_augment, augmented_patch, balanced_weights, list_sourced, load_pixels
from .patches import EMBEDDING_NAME, REPRESENTATIONS, PatchNet, extract_patches, patch_grid
from .progress_log import ProgressLog, run_logged, say

PARITY_IMAGES = 16  # validation images whose patches go into the parity bundle
OOD_PERCENTILE = 95.0  # the in-source validation share an image must be as typical as, to be decided
# One logit per patch, P(AI) = sigmoid(logit); the embedding is a second output.
PATCH_OUTPUT = {"name": OUTPUT_NAME, "activation": "sigmoid", "ai_index": 0}


@dataclass(frozen=True)
class PatchTrainingConfig:
    """What one patch-detector training is asked to do; built once by parse_args."""

    dataset: Path
    out: Path
    name: str
    representation: str
    width: int
    patch_size: int
    patches: int
    epochs: int
    samples_per_epoch: int
    batch_size: int
    lr: float
    weight_decay: float
    balance: str
    source_adversary: float
    no_augment: bool
    augment: str
    exclude_source: tuple[str, ...]
    ood_images: int
    seed: int
    threads: int
    device: str
    aligned_families: str
    aligned_per_source: int
    aligned_crop: int
    aligned_share: Optional[float]
    taef2: Optional[Path]
    autoencoders: Optional[Path]
    target_fpr: Optional[float]
    target_fnr: float
    generators: str
    calibration_share: float
    patch_phase: str


def parse_args(argv: Optional[Sequence[str]] = None) -> PatchTrainingConfig:
    p = argparse.ArgumentParser(description="Train the patch detector (general model).")
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--name", default="general")
    p.add_argument("--representation", choices=REPRESENTATIONS, default="npr")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--patch-size", type=int, default=64)
    p.add_argument("--patches", type=int, default=16, help="patches per image at evaluation and serving")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--samples-per-epoch", type=int, default=8000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--balance", choices=("source", "none"), default="source")
    p.add_argument("--source-adversary", type=float, default=0.0, help="weight of the REAL-source adversary (0: off)")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument(
        "--augment", choices=AUGMENT_LEVELS, default="heavy", help="strength of the augmentation applied alike to both classes (patch_data.patch_augment)"
    )
    p.add_argument("--exclude-source", action="append", default=[], help="CLASS/source left out of training (repeatable)")
    p.add_argument("--ood-images", type=int, default=1500, help="training images for the OOD statistics")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where to train (auto: CUDA when there is a GPU)")
    p.add_argument(
        "--aligned-families",
        default="",
        help="comma-separated autoencoder families whose reconstructions of the REAL photos are aligned fakes (training/aligned_fakes.py): taef2, nearest-x4, ...",
    )
    p.add_argument("--aligned-per-source", type=int, default=200, help="REAL training photos per source reconstructed, a quarter of that in val (0: all)")
    p.add_argument("--aligned-crop", type=int, default=160, help="side of the reconstructed crop, px at native resolution")
    p.add_argument(
        "--aligned-share", type=float, default=None, help="share of the FAKE draws that are aligned pairs (default 1 without generator folders, else 0.5)"
    )
    p.add_argument("--taef2", type=Path, help="folder of the TAEF2 weights (family taef2)")
    p.add_argument("--autoencoders", type=Path, help="folder of <family>.pt small autoencoders (training/train_autoencoder.py)")
    p.add_argument(
        "--target-fpr",
        type=float,
        default=None,
        help="decide at an operating point: at most this share of validation REAL photos called AI (the threshold), and --target-fnr of fakes called real (the lower edge of the uncertain band); default: the balanced-accuracy threshold",
    )
    p.add_argument("--target-fnr", type=float, default=0.02)
    p.add_argument("--generators", choices=("include", "exclude"), default="include", help="whether the dataset's own FAKE folders are trained on")
    p.add_argument(
        "--patch-phase",
        choices=PATCH_PHASES,
        default="aligned",
        help="where training patches start: on the 8x8 JPEG grid as serving cuts them (aligned), or anywhere (any: the grid's phase teaches nothing)",
    )
    p.add_argument(
        "--calibration-share",
        type=float,
        default=0.0,
        help="share of the training photos (with their aligned fakes) held apart from training to fit the logit scale on (0: fit it on training images)",
    )
    return from_namespace(PatchTrainingConfig, p.parse_args(argv))


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight):  # type: ignore[override]
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return -ctx.weight * grad, None


def to_input(patches_uint8: np.ndarray) -> torch.Tensor:
    """[K, H, W, 3] uint8 → normalised [K, 3, H, W] float32, as serving does."""
    x = torch.from_numpy(patches_uint8).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def score_pixels(model: PatchNet, images: Sequence[np.ndarray], size: int, count: int, chunk: int = 512) -> dict:
    """Per image: mean patch logit, patch-logit std, mean embedding (the serving computation)."""
    model.eval()
    device = next(model.parameters()).device
    boxes_per = [patch_grid(img.shape[1], img.shape[0], size, count) for img in images]
    all_patches = [extract_patches(img, boxes, size) for img, boxes in zip(images, boxes_per)]
    owners = np.concatenate([np.full(len(p), i) for i, p in enumerate(all_patches)])
    stacked = np.concatenate(all_patches)
    logits, embeddings = [], []
    with torch.no_grad():
        for start in range(0, len(stacked), chunk):
            lg, em = model(to_input(stacked[start : start + chunk]).to(device))
            logits.append(lg[:, 0].cpu().numpy())
            embeddings.append(em.cpu().numpy())
    logit = np.concatenate(logits)
    emb = np.concatenate(embeddings)
    n = len(images)
    mean_logit = np.array([logit[owners == i].mean() for i in range(n)])
    std_logit = np.array([logit[owners == i].std() for i in range(n)])
    mean_emb = np.stack([emb[owners == i].mean(axis=0) for i in range(n)])
    return {"logit": mean_logit, "logit_std": std_logit, "embedding": mean_emb, "patches": np.array([len(b) for b in boxes_per])}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def fit_logit_scale(labels: np.ndarray, logits: np.ndarray) -> float:
    """Temperature scaling: the factor s minimising the log loss of sigmoid(s · logit), by a search
    over 0.25–16 on a log grid. Averaging patch logits shrinks them towards 0, so s > 1 is usual.
    Fitted on the calibration split (calibration_mask) or else on training images (scored without
    augmentation), never on validation."""
    best, best_s = float("inf"), 1.0
    y = labels.astype(np.float64)
    for s in np.exp(np.linspace(np.log(0.25), np.log(16.0), 241)):
        z = s * logits
        loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
        if loss < best:
            best, best_s = loss, float(s)
    return round(best_s, 4)


def calibration_mask(items: Sequence[SourcedItem], pairs: "Pairs", share: float) -> np.ndarray:
    """Which training items form the calibration split: a `share` of the photos, chosen by a hash
    of the photo's path (the same photos in every run and fold), each with its aligned fakes, so
    that no pair straddles the split. Held apart from every training draw; the logit scale is
    fitted on them."""
    if share <= 0:
        return np.zeros(len(items), dtype=bool)

    def position(path: str) -> float:
        return int.from_bytes(hashlib.sha256(f"calibration:{path}".encode()).digest()[:8], "big") / 2**64

    photo = [items[o].path if o >= 0 else it.path for it, o in zip(items, pairs.original.tolist())]
    return np.array([position(path) < share for path in photo], dtype=bool)


def fitted_logit_scale(
    model: PatchNet, args: PatchTrainingConfig, items: Sequence[SourcedItem], pixels: Sequence[np.ndarray], calibration: np.ndarray, stats: "OodStatistics"
) -> float:
    """The run's logit scale: fitted on the calibration split when it holds both classes, else on
    the training images the OOD statistics scored."""
    labels = np.array([it.label for it in items])
    index = np.flatnonzero(calibration)
    if len(set(labels[index].tolist())) == 2:
        scored = score_pixels(model, [pixels[i] for i in index], args.patch_size, args.patches)
        return fit_logit_scale(labels[index], scored["logit"])
    return fit_logit_scale(labels[stats.train_index], stats.train_scores["logit"])


def fit_ood(embeddings: np.ndarray) -> dict:
    """Mean and whitening matrix of the training embeddings (covariance shrunk towards its mean
    variance, 10 %), so that the OOD score is a Mahalanobis distance ‖W (e − μ)‖."""
    mu = embeddings.mean(axis=0)
    centred = embeddings - mu
    cov = centred.T @ centred / max(1, len(embeddings) - 1)
    shrink = 0.1
    cov = (1 - shrink) * cov + shrink * np.eye(len(mu)) * np.trace(cov) / len(mu)
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-8)
    whitening = (vectors / np.sqrt(values)).T  # rows: W such that W cov W^T = I
    return {"mean": mu, "whitening": whitening}


def ood_distance(embeddings: np.ndarray, ood: dict) -> np.ndarray:
    return np.linalg.norm((embeddings - ood["mean"]) @ ood["whitening"].T, axis=1)


@dataclass(frozen=True)
class OodStatistics:
    train_index: np.ndarray  # the training images scored (a seeded sample of --ood-images)
    train_scores: dict  # score_pixels of those images
    ood: dict  # fit_ood of their embeddings
    val_distance: np.ndarray  # OOD distance of each validation image
    threshold: float  # the OOD_PERCENTILE-th percentile of val_distance


def ood_statistics(model: PatchNet, args: PatchTrainingConfig, train_pixels: Sequence[np.ndarray], val_embedding: np.ndarray) -> OodStatistics:
    """The out-of-distribution statistics of a run: a seeded sample of --ood-images training images
    is scored, its pooled embeddings fitted, and the threshold set at the OOD_PERCENTILE-th
    percentile of the validation images' distances (the trainer and every held-out fold alike)."""
    rng = np.random.default_rng(args.seed)
    index = rng.choice(len(train_pixels), size=min(args.ood_images, len(train_pixels)), replace=False)
    scores = score_pixels(model, [train_pixels[i] for i in index], args.patch_size, args.patches)
    ood = fit_ood(scores["embedding"])
    distance = ood_distance(val_embedding, ood)
    return OodStatistics(index, scores, ood, distance, float(np.percentile(distance, OOD_PERCENTILE)))


def choose_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """The validation threshold that maximises balanced accuracy (classes differ in size)."""
    best, best_t = -1.0, 0.5
    for t in np.unique(np.round(probs, 4)):
        if t <= 0.0 or t >= 1.0:
            continue
        pred = probs >= t
        bal = 0.5 * (pred[labels == 1].mean() + (~pred[labels == 0]).mean())
        if bal > best + 1e-12:
            best, best_t = bal, float(t)
    return best_t


@dataclass(frozen=True)
class Pairs:
    """For each item, the index of the real photo it reconstructs (-1: not an aligned fake) and
    the crop box of that photo it was made from."""

    original: np.ndarray
    boxes: tuple[Optional[tuple[int, int, int, int]], ...]

    @staticmethod
    def none(n: int) -> "Pairs":
        return Pairs(np.full(n, -1), (None,) * n)


def draw_weights(
    items: Sequence[SourcedItem], pairs: Pairs, balance: str, aligned_share: Optional[float], held_apart: Optional[np.ndarray] = None
) -> np.ndarray:
    """Sampling weights. Without aligned fakes: balanced_weights (each class half, each source an
    equal share of its class) or uniform. With them, an aligned draw yields a pair (its photo
    too), so the classes stay even when REAL draws get (1 − a)/(2 − a) and FAKE draws 1/(2 − a),
    `a` being the aligned share of FAKE draws; aligned fakes are balanced over (photo source,
    family) and generator images over their sources. Items marked in `held_apart` (the calibration
    split) are never drawn."""
    weights = _draw_weights(items, pairs, balance, aligned_share)
    if held_apart is not None and held_apart.any():
        weights = np.where(held_apart, 0.0, weights)
        weights = weights / weights.sum()
    return weights


def _draw_weights(items: Sequence[SourcedItem], pairs: Pairs, balance: str, aligned_share: Optional[float]) -> np.ndarray:
    n = len(items)
    aligned = pairs.original >= 0
    if not aligned.any():
        return balanced_weights(list(items)) if balance == "source" else np.full(n, 1.0 / n)
    has_generators = any(it.label == 1 and not aligned[i] for i, it in enumerate(items))
    a = (0.5 if has_generators else 1.0) if aligned_share is None else (aligned_share if has_generators else 1.0)
    shares = {"real": (1 - a) / (2 - a), "aligned": a / (2 - a), "generator": (1 - a) / (2 - a)}
    groups: dict[tuple[str, str], list[int]] = {}
    for i, it in enumerate(items):
        kind = "aligned" if aligned[i] else ("generator" if it.label == 1 else "real")
        group = f"{items[pairs.original[i]].source}|{it.source}" if aligned[i] else it.source
        groups.setdefault((kind, group), []).append(i)
    weights = np.zeros(n, dtype=np.float64)
    for kind, share in shares.items():
        keys = [key for key in groups if key[0] == kind]
        for key in keys:
            weights[groups[key]] = share / len(keys) / len(groups[key])
    return weights / weights.sum()


def draw_batch(
    idx: np.ndarray, pixels: Sequence[np.ndarray], labels: np.ndarray, pairs: Pairs, rng: random.Random, cfg: PatchAugment, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`size` augmented patches for the drawn indices: an aligned fake brings its photo, cut at the
    same place with the same augmentation (one seed for both). Returns (patches, labels, the item
    each patch came from)."""
    patches, ys, owners = [], [], []
    for i in idx:
        o = int(pairs.original[i])
        if o < 0:
            patches.append(augmented_patch(pixels[i], rng, cfg))
            ys.append(labels[i])
            owners.append(i)
            continue
        seed = rng.getrandbits(32)
        x, y, w, h = pairs.boxes[i]  # type: ignore[misc]
        patches.append(augmented_patch(pixels[i], random.Random(seed), cfg))
        patches.append(augmented_patch(pixels[o][y : y + h, x : x + w], random.Random(seed), cfg))
        ys += [1, 0]
        owners += [i, o]
        if len(patches) >= size:
            break
    return np.stack(patches[:size]), np.array(ys[:size]), np.array(owners[:size])


def train(
    args: PatchTrainingConfig,
    root: Path,
    train_items: list[SourcedItem],
    train_pixels: list[np.ndarray],
    log: Optional[ProgressLog] = None,
    pairs: Optional[Pairs] = None,
    held_apart: Optional[np.ndarray] = None,
) -> tuple[PatchNet, list[dict]]:
    """Trains PatchNet on draws from `train_items`, never drawing one marked in `held_apart` (the
    calibration split)."""
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    np_rng = np.random.default_rng(args.seed)
    device = resolve_device(args.device)
    model = PatchNet(args.representation, args.width).to(device).to(memory_format=torch.channels_last)
    if avoid_onednn_for_small_convolutions(model, device):
        say("a convolution has fewer than 8 channels: training without oneDNN (it corrupts memory there)")
    real_sources = sorted({it.source for it in train_items if it.label == 0})
    adversary = nn.Linear(model.embedding_size, len(real_sources)).to(device) if args.source_adversary > 0 and len(real_sources) > 1 else None
    params = list(model.parameters()) + (list(adversary.parameters()) if adversary else [])
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = max(1, args.samples_per_epoch // args.batch_size)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.1)
    pairs = pairs if pairs is not None else Pairs.none(len(train_items))
    weights = draw_weights(train_items, pairs, args.balance, args.aligned_share, held_apart)
    cfg = replace(patch_augment(args.augment, args.patch_size, enabled=not args.no_augment), phase=args.patch_phase)
    labels_all = np.array([it.label for it in train_items])
    real_index = np.array([real_sources.index(it.source) if it.label == 0 and it.source in real_sources else -1 for it in train_items])
    bce = nn.BCEWithLogitsLoss()
    history = []
    step = 0
    if log is not None:
        log.emit("start", total_steps=total, epochs=args.epochs, train_images=len(train_items))
    for epoch in range(args.epochs):
        model.train()
        started, loss_sum, adv_sum, correct, seen = time.time(), 0.0, 0.0, 0, 0
        for _ in range(steps_per_epoch):
            drawn = np_rng.choice(len(train_items), size=args.batch_size, p=weights)
            batch, batch_labels, idx = draw_batch(drawn, train_pixels, labels_all, pairs, rng, cfg, args.batch_size)
            x = to_input(batch).to(device)
            y = torch.from_numpy(batch_labels).float().to(device)
            logit, emb = model(x)
            loss = bce(logit[:, 0], y)
            if adversary is not None:
                real = torch.from_numpy(real_index[idx]).to(device)
                mask = real >= 0
                if mask.any():
                    adv = nn.functional.cross_entropy(adversary(_Reverse.apply(emb[mask], args.source_adversary)), real[mask])
                    loss = loss + adv
                    adv_sum += float(adv)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss)
            correct += int(((logit[:, 0] > 0).float() == y).sum())
            seen += len(idx)
            step += 1
            if log is not None and (step % 10 == 0 or step == total):
                log.emit(
                    "step", epoch=epoch + 1, step=step, total_steps=total, loss=float(loss), images_per_s=round(seen / max(1e-9, time.time() - started), 1)
                )
        entry = {"epoch": epoch + 1, "loss": loss_sum / steps_per_epoch, "train_patch_accuracy": correct / seen, "seconds": round(time.time() - started, 1)}
        if adversary is not None:
            entry["adversary_loss"] = adv_sum / steps_per_epoch
        history.append(entry)
        say(f"epoch {epoch + 1}/{args.epochs} loss {entry['loss']:.4f} patch acc {entry['train_patch_accuracy']:.3f} ({entry['seconds']} s)")
    return model, history


def per_source(items: Sequence[SourcedItem], labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict:
    out = {}
    for key in sorted({it.key for it in items}):
        idx = np.array([it.key == key for it in items])
        m = binary_metrics(labels[idx], probs[idx], threshold)
        out[key] = {"n": m["n"], "accuracy": m["accuracy"]}
    return out


def write_pipeline_files(
    args: PatchTrainingConfig, out: Path, root: Path, dataset: dict, train_items, val_items, val_probs, threshold, metrics, model, log, started
) -> None:
    """split.json, torch_eval.json, parity/ and training.json: the run folder the TypeScript
    pipeline evaluates through the serving code, gates and publishes (pipeline/src/run-dir.ts)."""

    def entries(items):
        return [{"path": it.path, "label": it.label, "sha256": sha256_file(root / it.path)} for it in items]

    write_run_file(out, "split.json", {"train": entries(train_items), "val": entries(val_items)})
    write_run_file(
        out,
        "torch_eval.json",
        {
            "val": SplitMetrics(
                **{k: metrics[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "n")}, probabilities=[float(p) for p in val_probs]
            ).to_json()
        },
    )
    # Parity bundle: the patches of the first validation images, as serving would cut them.
    pixels = load_pixels(root, val_items[:PARITY_IMAGES])
    patches = np.concatenate([extract_patches(img, patch_grid(img.shape[1], img.shape[0], args.patch_size, args.patches), args.patch_size) for img in pixels])
    inputs = to_input(patches).contiguous().numpy().astype(np.float32)
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(inputs))[0].numpy().astype(np.float32)
    (out / "parity").mkdir(exist_ok=True)
    (out / "parity" / "inputs.f32").write_bytes(inputs.astype("<f4").tobytes())
    (out / "parity" / "logits.f32").write_bytes(logits.astype("<f4").tobytes())
    write_run_file(out, "parity/meta.json", ParityMeta(n=len(inputs), input_shape=list(inputs.shape), output_shape=list(logits.shape)))
    seconds = time.time() - started
    steps = max(1, args.samples_per_epoch // args.batch_size) * args.epochs
    write_run_file(
        out,
        "training.json",
        TrainingRecord(
            seconds=round(seconds, 1),
            epochs_run=args.epochs,
            best_epoch=args.epochs,
            images_per_s=round(steps * args.batch_size / max(1e-9, sum(e["seconds"] for e in log)), 1),
            arch=f"patchnet-{args.representation}-w{args.width}",
            params=sum(p.numel() for p in model.parameters()),
            image_size=args.patch_size,
            args=as_record(args),
            torch_version=torch.__version__,
            dataset=dataset,
            onnx_opset=ONNX_OPSET,
            onnx_bytes=(out / "model.onnx").stat().st_size,
            train_seconds=round(sum(e["seconds"] for e in log), 1),
            steps=steps,
            module="training.train_patches",
            extra={
                "command": "python3 -m training.train_patches " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                "epochs": log,
                "train_images": len(train_items),
                "val_images": len(val_items),
                "val": {**metrics, "threshold": threshold, "per_source": per_source(val_items, np.array([it.label for it in val_items]), val_probs, threshold)},
                "selection": "the last epoch of a fixed schedule (no epoch is chosen on any data)",
            },
        ),
    )


def aligned_families(args: PatchTrainingConfig) -> list[str]:
    return [f for f in args.aligned_families.split(",") if f]


def split_items(args: PatchTrainingConfig, root: Path, split: str, excluded: set[str]) -> tuple[list[SourcedItem], Pairs]:
    """The items of a split the recipe trains or validates on: the dataset's own (less excluded
    sources, less its FAKE folders with --generators exclude), then the aligned fakes of the
    remaining REAL photos (training/aligned_fakes.py builds them once and caches them under
    <dataset>/aligned/), with their pairing."""
    items = [it for it in list_sourced(root, split) if it.key not in excluded and (args.generators == "include" or it.label == 0)]
    families = aligned_families(args)
    if not families:
        return items, Pairs.none(len(items))
    position = {it.path: i for i, it in enumerate(items)}
    originals, boxes = [-1] * len(items), [None] * len(items)
    for fake in build_aligned(root, families, args.aligned_per_source, args.aligned_crop, args.seed, args.taef2, args.autoencoders, splits=(split,)):
        if fake.original not in position or fake.key in excluded:
            continue
        items.append(SourcedItem(fake.path, 1, f"aligned-{fake.family}"))
        originals.append(position[fake.original])
        boxes.append(fake.box)
    return items, Pairs(np.array(originals), tuple(boxes))


def run(args: PatchTrainingConfig, progress: Optional[ProgressLog] = None) -> dict:
    started = time.time()
    torch.set_num_threads(args.threads)
    root = args.dataset
    dataset = read_dataset_info(root)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    excluded = set(args.exclude_source)
    train_items, train_pairs = split_items(args, root, "train", excluded)
    val_items, _ = split_items(args, root, "val", excluded)
    say(f"decoding {len(train_items)} training and {len(val_items)} validation images")
    train_pixels = load_pixels(root, train_items)
    val_pixels = load_pixels(root, val_items)
    calibration = calibration_mask(train_items, train_pairs, args.calibration_share)
    if calibration.any():
        say(f"calibration split: {int(calibration.sum())} training images held apart to fit the logit scale")
    model, log = train(args, root, train_items, train_pixels, progress, train_pairs, held_apart=calibration)
    say("scoring validation images")
    val = score_pixels(model, val_pixels, args.patch_size, args.patches)
    val_labels = np.array([it.label for it in val_items])
    stats = ood_statistics(model, args, train_pixels, val["embedding"])
    logit_scale = fitted_logit_scale(model, args, train_items, train_pixels, calibration, stats)
    val_probs = sigmoid(logit_scale * val["logit"])
    point = operating_point(val_probs[val_labels == 0], val_probs[val_labels == 1], args.target_fpr, args.target_fnr) if args.target_fpr is not None else None
    threshold = point.ai_threshold if point is not None else choose_threshold(val_labels, val_probs)
    ood, val_dist, ood_threshold = stats.ood, stats.val_distance, stats.threshold
    model = model.cpu()
    save_checkpoint(
        out / "checkpoint.pt",
        model,
        {"arch": "patchnet", "representation": args.representation, "width": args.width},
        {"dataset": dataset, "torch_version": torch.__version__},
    )
    export_onnx(model, args.patch_size, out / "model.onnx", output_names=(OUTPUT_NAME, EMBEDDING_NAME), class_count=None, batch=2)
    metrics = binary_metrics(val_labels, val_probs, threshold)
    metadata = build_metadata(
        name=args.name,
        architecture=f"patchnet-{args.representation}-w{args.width}",
        parameters=sum(p.numel() for p in model.parameters()),
        image_size=args.patch_size,
        dataset=dataset,
        framework=f"pytorch {torch.__version__}",
        opset=ONNX_OPSET,
        epochs=args.epochs,
        seed=args.seed,
        created_at=utc_now_iso(),
        threshold=round(threshold, 4),
        output=PATCH_OUTPUT,
        patches={"mode": "grid", "size": args.patch_size, "count": args.patches, "align": 8, "aggregation": "mean_logit", "logit_scale": logit_scale},
        ood={
            "output": EMBEDDING_NAME,
            "method": "mahalanobis",
            "mean": [round(float(v), 6) for v in ood["mean"]],
            "whitening": [[round(float(v), 6) for v in row] for row in ood["whitening"]],
            "threshold": round(ood_threshold, 4),
            "percentile": OOD_PERCENTILE,
        },
        # The pipeline sets the published operating point again from the serving path's validation scores.
        operating_point=None
        if point is None
        else {
            "target_fpr": args.target_fpr,
            "target_fnr": args.target_fnr,
            "split": "val",
            "ai_threshold": point.ai_threshold,
            "real_threshold": point.real_threshold,
        },
    )
    write_run_file(out, "metadata.json", metadata)
    rows = [
        {"path": it.path, "source": it.source, "label": it.label, "probability": round(float(p), 5), "logit_std": round(float(s), 4), "ood": round(float(d), 4)}
        for it, p, s, d in zip(val_items, val_probs, val["logit_std"], val_dist)
    ]
    (out / "val_scores.json").write_text(json.dumps(rows) + "\n")
    write_pipeline_files(args, out, root, dataset, train_items, val_items, val_probs, threshold, metrics, model, log, started)
    record = json.loads((out / "training.json").read_text())
    if progress is not None:
        progress.emit("export", path=str(out / "model.onnx"), bytes=(out / "model.onnx").stat().st_size, opset=ONNX_OPSET)
        progress.emit(
            "done", best_epoch=args.epochs, best_val={"accuracy": metrics["accuracy"], "roc_auc": metrics["roc_auc"]}, seconds=round(time.time() - started, 1)
        )
    say(f"val accuracy {metrics['accuracy']:.4f} ROC-AUC {metrics['roc_auc']:.4f} threshold {threshold:.4f} OOD threshold {ood_threshold:.2f}")
    return record


def load_patchnet(run_dir: Path) -> PatchNet:
    model, _ = load_model(run_dir / "checkpoint.pt")
    if not isinstance(model, PatchNet):
        raise ValueError(f"{run_dir / 'checkpoint.pt'} holds a {type(model).__name__}, not a patch detector")
    return model


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    return run_logged(args.out, "train_log.jsonl", lambda log: run(args, log))


if __name__ == "__main__":
    raise SystemExit(main())
