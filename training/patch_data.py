"""Source-aware images for the patch detector: listing, decoding into memory, and the training
augmentation, applied identically to both classes so that no class gets a compression, scale or
noise history of its own.

A dataset folder may have a source level below the class folder (<split>/REAL/<source>/<file>);
files directly in the class folder belong to the source "default".
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from .constants import CLASS_DIRS, IMAGE_EXTENSIONS
from .image_decode import decode_file
from .patches import ALIGN

DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class SourcedItem:
    path: str  # relative to the dataset root
    label: int
    source: str

    @property
    def key(self) -> str:
        """`REAL/<source>` or `FAKE/<source>`: how per-source tables and --exclude-source name it."""
        return f"{'FAKE' if self.label else 'REAL'}/{self.source}"


def source_of(relative: str) -> str:
    """`<split>/<CLASS>/<source>/<file>` → source; `<split>/<CLASS>/<file>` → "default"."""
    parts = relative.split("/")
    return parts[2] if len(parts) > 3 else DEFAULT_SOURCE


def list_sourced(root: Path, split: str) -> list[SourcedItem]:
    items = []
    for class_name, label in CLASS_DIRS.items():
        folder = root / split / class_name
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*")):
            if file.suffix.lower() in IMAGE_EXTENSIONS and (file.is_file() or file.is_symlink()):
                rel = file.relative_to(root).as_posix()
                items.append(SourcedItem(rel, label, source_of(rel)))
    return items


def load_pixels(root: Path, items: list[SourcedItem]) -> list[np.ndarray]:
    return [np.asarray(decode_file(root / item.path), dtype=np.uint8) for item in items]


@dataclass(frozen=True)
class PatchAugment:
    size: int = 64
    rescale_prob: float = 0.5
    rescale_range: tuple[float, float] = (0.5, 1.5)
    blur_prob: float = 0.15
    noise_prob: float = 0.15
    jpeg_prob: float = 0.8
    jpeg_range: tuple[int, int] = (60, 100)
    enabled: bool = True
    # "aligned": patches start on the 8×8 JPEG grid, as serving cuts them; "any": at any offset, so
    # that the grid's phase teaches nothing (a photo cropped off its grid must not read as generated).
    phase: str = "aligned"


AUGMENT_LEVELS = ("heavy", "medium", "mild", "jpeg")


def patch_augment(level: str, size: int, enabled: bool = True) -> PatchAugment:
    """`heavy`: the defaults above (rescale half the time, JPEG q60–100 80 % of the time, blur,
    noise). `medium`: rescale 20 % of the time by at most ±25 %, JPEG q70–100 half the time, blur
    and noise 5 % each. `mild`: what keeps an autoencoder's traces learnable: rescale 10 % of the time by at
    most ±25 %, JPEG q85–100 30 % of the time, blur and noise 5 % each; `jpeg`: mild, but JPEG
    q60–100 90 % of the time, for traces that survive compression (heavy augmentation
    wipes out the traces that tell a reconstruction from its photo: trained on pairs alone, the
    patch accuracy stays at chance)."""
    if level == "jpeg":
        # mild's geometry and noise, but JPEG q60-100 on 90 % of the patches: the traces must survive compression.
        return PatchAugment(
            size=size, rescale_prob=0.1, rescale_range=(0.75, 1.25), blur_prob=0.05, noise_prob=0.05, jpeg_prob=0.9, jpeg_range=(60, 100), enabled=enabled
        )
    if level == "medium":
        return PatchAugment(
            size=size, rescale_prob=0.2, rescale_range=(0.75, 1.25), blur_prob=0.05, noise_prob=0.05, jpeg_prob=0.5, jpeg_range=(70, 100), enabled=enabled
        )
    if level == "mild":
        return PatchAugment(
            size=size, rescale_prob=0.1, rescale_range=(0.75, 1.25), blur_prob=0.05, noise_prob=0.05, jpeg_prob=0.3, jpeg_range=(85, 100), enabled=enabled
        )
    if level != "heavy":
        raise ValueError(f"augmentation {level!r}; expected one of {', '.join(AUGMENT_LEVELS)}")
    return PatchAugment(size=size, enabled=enabled)


_FILTERS = (Image.BILINEAR, Image.BICUBIC, Image.LANCZOS)


PATCH_PHASES = ("aligned", "any")


def _offset(rng: random.Random, span: int, phase: str) -> int:
    """A random start within `span`: a multiple of ALIGN, or any with phase "any"."""
    if span <= 0:
        return 0
    return rng.randrange(0, span + 1) if phase == "any" else rng.randrange(0, span // ALIGN + 1) * ALIGN


def _pad_to(patch: np.ndarray, size: int) -> np.ndarray:
    h, w = patch.shape[:2]
    if h >= size and w >= size:
        return patch
    return np.pad(patch, ((0, max(0, size - h)), (0, max(0, size - w)), (0, 0)), mode="edge")


def augmented_patch(pixels: np.ndarray, rng: random.Random, cfg: PatchAugment) -> np.ndarray:
    """One training patch [size, size, 3] uint8: a region, randomly rescaled, blurred, noised and
    JPEG re-encoded (each with its probability), cropped and mirrored; the region and the crop start
    on the 8×8 grid, or anywhere with cfg.phase "any"."""
    size = cfg.size
    h, w = pixels.shape[:2]
    scale = 1.0
    if cfg.enabled and rng.random() < cfg.rescale_prob:
        scale = rng.uniform(*cfg.rescale_range)
    region = min(int(np.ceil(size / scale)) + 2 * ALIGN, h, w) if scale != 1.0 else min(size + 2 * ALIGN, h, w)
    y, x = _offset(rng, h - region, cfg.phase), _offset(rng, w - region, cfg.phase)
    crop = pixels[y : y + region, x : x + region]
    if not cfg.enabled:
        return _pad_to(crop, size)[:size, :size]
    img = Image.fromarray(crop)
    if scale != 1.0:
        side = max(size, int(round(region * scale)))
        img = img.resize((side, side), rng.choice(_FILTERS))
    if rng.random() < cfg.blur_prob:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    if rng.random() < cfg.noise_prob:
        arr = np.asarray(img, dtype=np.float32)
        arr = arr + np.random.default_rng(rng.getrandbits(32)).normal(0.0, rng.uniform(1.0, 4.0), arr.shape)
        img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
    if rng.random() < cfg.jpeg_prob:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(*cfg.jpeg_range))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    arr = _pad_to(np.asarray(img, dtype=np.uint8), size)
    py, px = _offset(rng, arr.shape[0] - size, cfg.phase), _offset(rng, arr.shape[1] - size, cfg.phase)
    patch = arr[py : py + size, px : px + size]
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


def balanced_weights(items: list[SourcedItem]) -> np.ndarray:
    """Sampling weights giving each class half the draws and each source an equal share of its
    class, so that a large source (shoes, food) cannot dominate what "real" or "AI" looks like."""
    weights = np.zeros(len(items), dtype=np.float64)
    for label in (0, 1):
        sources = sorted({it.source for it in items if it.label == label})
        for source in sources:
            idx = [i for i, it in enumerate(items) if it.label == label and it.source == source]
            weights[idx] = 0.5 / len(sources) / len(idx)
    return weights / weights.sum()
