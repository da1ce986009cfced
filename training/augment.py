"""Train-time augmentation modelled on what product photos go through before they reach us.

Every transform keeps the image size and is drawn from the same distribution for real and
AI-generated images, so the model cannot learn the augmentation as a class cue.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageEnhance


@dataclass(frozen=True)
class AugmentConfig:
    crop_prob: float = 0.3
    crop_scale: tuple[float, float] = (0.75, 1.0)
    crop_ratio: tuple[float, float] = (0.85, 1.18)
    flip_prob: float = 0.5
    jitter_prob: float = 0.3
    jitter: float = 0.1  # brightness, contrast and saturation factors in [1 - j, 1 + j]
    rescale_prob: float = 0.2
    rescale_range: tuple[float, float] = (0.6, 0.95)
    jpeg_prob: float = 0.5
    jpeg_quality: tuple[int, int] = (50, 95)


NO_AUGMENT = AugmentConfig(0.0, (1.0, 1.0), (1.0, 1.0), 0.0, 0.0, 0.0, 0.0, (1.0, 1.0), 0.0, (95, 95))


def augment_config(profile: str, jpeg_prob: float) -> AugmentConfig:
    """full: everything above; light: horizontal flips and JPEG re-encoding only."""
    if profile == "full":
        return AugmentConfig(jpeg_prob=jpeg_prob)
    if profile == "light":
        return AugmentConfig(crop_prob=0.0, jitter_prob=0.0, rescale_prob=0.0, jpeg_prob=jpeg_prob)
    raise ValueError(f"unknown augmentation profile {profile!r}; use full or light")


def random_resized_crop(img: Image.Image, rng: random.Random, cfg: AugmentConfig) -> Image.Image:
    w, h = img.size
    area = w * h * rng.uniform(*cfg.crop_scale)
    ratio = rng.uniform(*cfg.crop_ratio)
    cw = min(w, max(1, round((area * ratio) ** 0.5)))
    ch = min(h, max(1, round((area / ratio) ** 0.5)))
    left = rng.randint(0, w - cw)
    top = rng.randint(0, h - ch)
    return img.resize((w, h), Image.BILINEAR, box=(left, top, left + cw, top + ch), reducing_gap=None)


def colour_jitter(img: Image.Image, rng: random.Random, amount: float) -> Image.Image:
    for enhancer in rng.sample([ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color], 3):
        img = enhancer(img).enhance(rng.uniform(1 - amount, 1 + amount))
    return img


def rescale_round_trip(img: Image.Image, rng: random.Random, cfg: AugmentConfig) -> Image.Image:
    w, h = img.size
    factor = rng.uniform(*cfg.rescale_range)
    small = img.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.BILINEAR, reducing_gap=None)
    return small.resize((w, h), Image.BILINEAR, reducing_gap=None)


def jpeg_round_trip(img: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    out = Image.open(buffer)
    out.load()
    return out.convert("RGB")


def augment(img: Image.Image, rng: random.Random, cfg: AugmentConfig) -> Image.Image:
    """One random draw of the augmentation pipeline; the JPEG re-encode comes last, as in the wild."""
    if rng.random() < cfg.crop_prob:
        img = random_resized_crop(img, rng, cfg)
    if rng.random() < cfg.flip_prob:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    if rng.random() < cfg.jitter_prob:
        img = colour_jitter(img, rng, cfg.jitter)
    if rng.random() < cfg.rescale_prob:
        img = rescale_round_trip(img, rng, cfg)
    if rng.random() < cfg.jpeg_prob:
        img = jpeg_round_trip(img, rng.randint(*cfg.jpeg_quality))
    return img
