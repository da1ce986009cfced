"""Runs a model over pre-decoded images without augmentation and scores the result."""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import nn

from .batches import normalize_batch
from .constants import AI_INDEX
from .metrics import binary_metrics


@torch.no_grad()
def predict_logits(model: nn.Module, pixels: np.ndarray, batch_size: int = 512, device: Optional[torch.device] = None) -> np.ndarray:
    """N x S x S x 3 uint8 -> N x 2 float32 logits, in eval mode, on `device` (default: the CPU)."""
    model.eval()
    outputs = []
    for start in range(0, len(pixels), batch_size):
        chunk = torch.from_numpy(pixels[start : start + batch_size]).permute(0, 3, 1, 2)
        if device is not None and device.type != "cpu":
            chunk = chunk.to(device, non_blocking=True)
        outputs.append(model(normalize_batch(chunk)).float().cpu())
    if not outputs:
        return np.zeros((0, 2), dtype=np.float32)
    return torch.cat(outputs).numpy()


def ai_probabilities(logits: np.ndarray) -> np.ndarray:
    return torch.softmax(torch.from_numpy(logits).double(), dim=1)[:, AI_INDEX].numpy()


def evaluate(model: nn.Module, pixels: np.ndarray, labels: np.ndarray, batch_size: int = 512, device: Optional[torch.device] = None) -> dict:
    """binary_metrics plus mean cross-entropy ("loss") and P(AI) per item ("probabilities")."""
    logits = predict_logits(model, pixels, batch_size, device)
    loss = float(nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels))) if len(labels) else 0.0
    probabilities = ai_probabilities(logits)
    return {**binary_metrics(labels, probabilities), "loss": loss, "probabilities": probabilities.tolist()}


def without_probabilities(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "probabilities"}
