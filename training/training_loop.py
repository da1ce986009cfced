"""The optimisation loop: AdamW, warmup + cosine, early stopping, best-by-validation weights."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from .augment import AugmentConfig
from .batches import AugmentedImages, normalize_batch
from .evaluation import evaluate, without_probabilities
from .progress_log import ProgressLog
from .schedule import lr_factor


@dataclass(frozen=True)
class LoopConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.0
    patience: int = 5
    max_steps: Optional[int] = None
    seed: int = 42
    workers: int = 0
    select_metric: str = "accuracy"  # or "roc_auc"
    log_every: int = 20
    eval_batch_size: int = 512
    device: str = "cpu"  # where the model already is: "cpu" or "cuda"
    amp: bool = False  # float16 autocast with a gradient scaler (CUDA only)


@dataclass
class LoopResult:
    best_state: dict
    best_epoch: int
    best_val: dict
    epochs_run: int
    steps: int
    images_per_s: float
    seconds: float
    history: list


def selection_key(metrics: dict, select_metric: str) -> tuple:
    """Higher is better; ties on the chosen metric go to the other one, then to lower loss."""
    accuracy, auc = metrics["accuracy"], metrics["roc_auc"] or 0.0
    first, second = (auc, accuracy) if select_metric == "roc_auc" else (accuracy, auc)
    return (first, second, -metrics["loss"])


def plan_steps(train_size: int, batch_size: int, epochs: int, max_steps: Optional[int]) -> tuple[int, int]:
    """(steps per epoch, total steps); the last partial batch is dropped when there is a full one."""
    steps_per_epoch = max(1, train_size // batch_size) if train_size >= batch_size else 1
    total = steps_per_epoch * epochs
    if max_steps is not None:
        total = min(total, max_steps)
    return steps_per_epoch, max(1, total)


def train_model(
    model: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    cfg: LoopConfig,
    augment_cfg: Optional[AugmentConfig],
    log: ProgressLog,
) -> LoopResult:
    train_pixels, train_labels = train
    dataset = AugmentedImages(train_pixels, train_labels, augment_cfg)
    generator = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    on_cuda = device.type == "cuda"
    if cfg.amp and not on_cuda:
        raise ValueError("mixed precision (amp) is for CUDA only; the CPU path stays float32")
    loader = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=True,
        generator=generator,
        drop_last=len(dataset) >= cfg.batch_size,
        num_workers=cfg.workers,
        persistent_workers=cfg.workers > 0,
        pin_memory=on_cuda,
    )
    scaler = torch.cuda.amp.GradScaler() if cfg.amp else None
    steps_per_epoch, total_steps = plan_steps(len(dataset), cfg.batch_size, cfg.epochs, cfg.max_steps)
    epochs = math.ceil(total_steps / steps_per_epoch)
    warmup = min(total_steps // 2, round(cfg.warmup_epochs * steps_per_epoch))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total_steps, warmup))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)

    step, best_key, best_state, best_epoch, best_val = 0, None, None, 0, {}
    stale, history, images_seen, train_seconds = 0, [], 0, 0.0
    started = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        epoch_start, window_start, window_images = time.time(), time.time(), 0
        loss_sum, loss_count = 0.0, 0
        for images, labels in loader:
            if on_cuda:
                images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            x = normalize_batch(images)
            if scaler is None:
                loss = loss_fn(model(x), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            else:
                with torch.autocast(device_type="cuda", dtype=torch.float16):
                    loss = loss_fn(model(x), labels)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            scheduler.step()
            step += 1
            loss_sum += float(loss) * len(labels)
            loss_count += len(labels)
            window_images += len(labels)
            if step % cfg.log_every == 0 or step == total_steps:
                now = time.time()
                log.emit(
                    "step",
                    epoch=epoch,
                    step=step,
                    total_steps=total_steps,
                    loss=float(loss),
                    images_per_s=round(window_images / max(now - window_start, 1e-9), 1),
                    lr=optimizer.param_groups[0]["lr"],
                )
                window_start, window_images = now, 0
            if step >= total_steps:
                break
        epoch_train_seconds = time.time() - epoch_start
        train_seconds += epoch_train_seconds
        images_seen += loss_count
        val_metrics = without_probabilities(evaluate(model, *val, batch_size=cfg.eval_batch_size, device=device))
        record = log.emit(
            "epoch", epoch=epoch, step=step, train_loss=loss_sum / max(1, loss_count), val=val_metrics, seconds=round(time.time() - epoch_start, 2)
        )
        history.append(record)
        key = selection_key(val_metrics, cfg.select_metric)
        if best_key is None or key > best_key:
            best_key, best_epoch, best_val, stale = key, epoch, val_metrics, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        if step >= total_steps or stale >= cfg.patience:
            break
    return LoopResult(
        best_state=best_state,
        best_epoch=best_epoch,
        best_val=best_val,
        epochs_run=epoch,
        steps=step,
        images_per_s=round(images_seen / max(train_seconds, 1e-9), 1),
        seconds=round(time.time() - started, 2),
        history=history,
    )
