"""Where training runs: --device auto|cpu|cuda, and the data-loading workers that suit it."""

from __future__ import annotations

import os
from typing import Optional

import torch
from torch import nn

DEVICE_CHOICES = ("auto", "cpu", "cuda")
MAX_CUDA_WORKERS = 8


def resolve_device(choice: str, cuda_available: Optional[bool] = None) -> torch.device:
    """auto: CUDA when there is a GPU, else the CPU. cuda without a GPU is an error, not a silent CPU run."""
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"--device is {choice!r}; use one of {', '.join(DEVICE_CHOICES)}")
    available = torch.cuda.is_available() if cuda_available is None else cuda_available
    if choice == "cuda" and not available:
        raise ValueError(
            "--device cuda, but torch sees no CUDA device (torch.cuda.is_available() is False); "
            "use --device cpu or auto, or a CUDA build of torch on a GPU machine"
        )
    if choice == "auto":
        return torch.device("cuda" if available else "cpu")
    return torch.device(choice)


def default_workers(device: torch.device, cpu_count: Optional[int] = None) -> int:
    """0 on the CPU (the CPU results stay those of one process for a fixed seed); on CUDA one worker
    per core, at most MAX_CUDA_WORKERS, so that decoding and augmenting keep the GPU fed."""
    if device.type != "cuda":
        return 0
    cores = os.cpu_count() if cpu_count is None else cpu_count
    return max(1, min(MAX_CUDA_WORKERS, (cores or 1)))


# Debian's torch 1.13 corrupts the heap in oneDNN's CPU convolution backward when a convolution has
# fewer than this many output channels: a compact model of --width 4 or 2 aborts or segfaults
# during or after training ("free(): invalid pointer", or a segmentation fault in backward), every
# time; widths 8, 16 and 32 and the patch detector do not. Such a model trains with oneDNN off.
ONEDNN_MIN_CONV_CHANNELS = 8


def avoid_onednn_for_small_convolutions(model: nn.Module, device: torch.device) -> bool:
    """Turns oneDNN off for this process when `model` trains on the CPU with a convolution of fewer
    than ONEDNN_MIN_CONV_CHANNELS output channels; True when it did."""
    if device.type != "cpu":
        return False
    small = any(isinstance(m, nn.Conv2d) and m.out_channels < ONEDNN_MIN_CONV_CHANNELS for m in model.modules())
    if small:
        torch.backends.mkldnn.enabled = False
    return small
