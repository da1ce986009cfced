"""Torch datasets over pre-decoded uint8 images, and the batch normalisation of the contract."""

from __future__ import annotations

import random

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from .augment import AugmentConfig, augment
from .constants import MEAN, PIXEL_SCALE, STD


class AugmentedImages(Dataset):
    """Yields (uint8 3 x S x S tensor, label); augments when cfg is given."""

    def __init__(self, pixels: np.ndarray, labels: np.ndarray, cfg: AugmentConfig | None):
        self.pixels = pixels
        self.labels = labels
        self.cfg = cfg

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        array = self.pixels[index]
        if self.cfg is not None:
            rng = random.Random(int(torch.randint(0, 2**62, (1,)).item()))
            array = np.asarray(augment(Image.fromarray(array), rng, self.cfg), dtype=np.uint8)
        return torch.from_numpy(np.array(array)).permute(2, 0, 1), int(self.labels[index])


def normalize_batch(images_uint8: torch.Tensor) -> torch.Tensor:
    """N x 3 x S x S uint8 -> float32 with the contract scaling, in channels_last memory."""
    x = images_uint8.float() * PIXEL_SCALE
    mean = torch.tensor(MEAN, dtype=torch.float32, device=images_uint8.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32, device=images_uint8.device).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)
