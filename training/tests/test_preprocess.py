import numpy as np
import pytest
from PIL import Image

from training.preprocess import cover_dimensions, crop_offsets, normalize_chw, preprocess, resize_cover


@pytest.mark.parametrize(
    "w, h, size, expected",
    [
        (240, 240, 128, (128, 128)),
        (640, 480, 32, (43, 32)),  # 42.67 -> 43
        (480, 640, 32, (32, 43)),
        (300, 200, 100, (150, 100)),
        (3, 2, 4, (6, 4)),  # upscaling
        (5, 2, 4, (10, 4)),
        (7, 4, 2, (4, 2)),  # 3.5 rounds half up, not to even
    ],
)
def test_cover_dimensions(w, h, size, expected):
    assert cover_dimensions(w, h, size) == expected


def test_crop_offsets_floor():
    assert crop_offsets(43, 32, 32) == (5, 0)
    assert crop_offsets(32, 45, 32) == (0, 6)


def test_same_size_is_untouched():
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8))
    assert resize_cover(img, 8) is img


def test_landscape_crop_keeps_centre_columns():
    pixels = np.zeros((2, 4, 3), dtype=np.uint8)
    pixels[:, :, 0] = [10, 20, 30, 40]
    out = np.asarray(resize_cover(Image.fromarray(pixels), 2))
    assert out[:, :, 0].tolist() == [[20, 30], [20, 30]]


def test_bilinear_downscale_golden():
    # 4x4 ramp -> 2x2 with PIL's bilinear (support scaled by the reduction); values from Pillow 9.4.
    ramp = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    img = Image.fromarray(np.stack([ramp] * 3, axis=-1))
    out = np.asarray(resize_cover(img, 2))[:, :, 0].astype(int)
    golden = np.array([[57, 83], [157, 183]])
    assert np.abs(out - golden).max() <= 1


def test_normalisation_maps_0_255_to_minus_one_one():
    pixels = np.array([[[0, 128, 255]]], dtype=np.uint8)
    x = normalize_chw(pixels)
    assert x.shape == (3, 1, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0], [-1.0, 128 / 127.5 - 1, 1.0], atol=1e-6)


def test_preprocess_shape_and_channel_order():
    img = Image.new("RGB", (50, 30), (255, 0, 0))
    x = preprocess(img, 16)
    assert x.shape == (3, 16, 16)
    np.testing.assert_allclose(x[:, 0, 0], [1.0, -1.0, -1.0])
