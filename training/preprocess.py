"""The serving preprocessing contract, as pure functions.

1. resize "cover": scale so the shorter side equals `size` (bilinear, PIL reducing_gap=None),
   the longer side to floor(long * size / short + 0.5); skipped when already size x size;
2. centre crop to size x size at offset floor((w - size) / 2), floor((h - size) / 2);
3. float32 = pixel * (1/255), then (x - mean) / std per channel, RGB order, NCHW layout.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .constants import MEAN, PIXEL_SCALE, STD


def cover_dimensions(width: int, height: int, size: int) -> tuple[int, int]:
    """Size after the cover resize: shorter side = size, aspect kept, rounding half up."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image is {width}x{height}; both sides must be positive")
    if width <= height:
        return size, max(size, math.floor(height * size / width + 0.5))
    return max(size, math.floor(width * size / height + 0.5)), size


def crop_offsets(width: int, height: int, size: int) -> tuple[int, int]:
    return (width - size) // 2, (height - size) // 2


def resize_cover(img: Image.Image, size: int) -> Image.Image:
    if img.size == (size, size):
        return img
    new_w, new_h = cover_dimensions(img.width, img.height, size)
    if (new_w, new_h) != img.size:
        img = img.resize((new_w, new_h), Image.BILINEAR, reducing_gap=None)
    left, top = crop_offsets(new_w, new_h, size)
    return img.crop((left, top, left + size, top + size))


def to_uint8_hwc(img: Image.Image, size: int) -> np.ndarray:
    """RGB image -> size x size x 3 uint8 after the cover resize and crop."""
    return np.asarray(resize_cover(img.convert("RGB"), size), dtype=np.uint8)


def normalize_chw(pixels_hwc: np.ndarray, mean=MEAN, std=STD) -> np.ndarray:
    """uint8 HWC (or NHWC) -> float32 CHW (or NCHW) with the contract scaling."""
    x = pixels_hwc.astype(np.float32) * np.float32(PIXEL_SCALE)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def preprocess(img: Image.Image, size: int) -> np.ndarray:
    """RGB PIL image -> float32 3 x size x size input tensor, exactly as serving computes it."""
    return normalize_chw(to_uint8_hwc(img, size))
