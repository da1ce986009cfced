"""Decodes image bytes into an 8-bit RGB PIL image, whatever the stored mode."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

try:  # littlecms bindings; absent from some minimal Pillow builds
    from PIL import ImageCms
except ImportError:  # pragma: no cover
    ImageCms = None

WHITE = (255, 255, 255)


def _sixteen_bit_to_l(img: Image.Image) -> Image.Image:
    values = np.asarray(img, dtype=np.uint32) >> 8  # top byte, as 16-bit to 8-bit casts do
    return Image.fromarray(values.astype(np.uint8), mode="L")


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB version of img; transparent images are composited on white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return _sixteen_bit_to_l(img).convert("RGB")
    if img.mode == "F":
        values = np.clip(np.asarray(img, dtype=np.float32), 0, 255).round().astype(np.uint8)
        return Image.fromarray(values, mode="L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, WHITE)
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def _to_srgb(img: Image.Image) -> Image.Image:
    """Converts an image with an embedded ICC profile to sRGB, as the serving decoder (libvips) does."""
    profile = img.info.get("icc_profile")
    if not profile or ImageCms is None or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        mode = "RGBA" if img.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img


def decode_bytes(data: bytes) -> Image.Image:
    """Decodes like serving does: EXIF orientation applied, embedded colour profile to sRGB, RGB out."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        img = ImageOps.exif_transpose(img)
    except Exception as error:  # PIL raises several unrelated types for corrupt data
        raise ValueError(f"cannot decode image ({len(data)} bytes): {error}") from error
    return to_rgb(_to_srgb(img))


def decode_file(path: Path) -> Image.Image:
    try:
        return decode_bytes(Path(path).read_bytes())
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
