"""Decodes a split once into memory: an N x S x S x 3 uint8 array after the cover resize."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from .dataset_files import Item
from .image_decode import decode_file
from .preprocess import to_uint8_hwc


def decode_split(
    root: Path,
    items: Sequence[Item],
    size: int,
    on_progress: Optional[Callable[[int, int], None]] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(pixels N x S x S x 3 uint8, labels N int64) in the order of items."""
    pixels = np.empty((len(items), size, size, 3), dtype=np.uint8)
    labels = np.empty((len(items),), dtype=np.int64)
    for index, item in enumerate(items):
        pixels[index] = to_uint8_hwc(decode_file(Path(root) / item.path), size)
        labels[index] = item.label
        if on_progress and (index + 1) % 10000 == 0:
            on_progress(index + 1, len(items))
    return pixels, labels
