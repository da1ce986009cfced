import random

import numpy as np
import pytest
from PIL import Image

from training.augment import NO_AUGMENT, AugmentConfig, augment, jpeg_round_trip


def sample_image(size=(32, 24)) -> Image.Image:
    return Image.fromarray(np.random.default_rng(1).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("seed", range(20))
def test_augment_keeps_size_and_mode(seed):
    cfg = AugmentConfig(crop_prob=1, jitter_prob=1, rescale_prob=1, jpeg_prob=1)
    out = augment(sample_image(), random.Random(seed), cfg)
    assert out.size == (32, 24) and out.mode == "RGB"


def test_augment_is_reproducible_for_a_seed():
    a = np.asarray(augment(sample_image(), random.Random(7), AugmentConfig()))
    b = np.asarray(augment(sample_image(), random.Random(7), AugmentConfig()))
    assert np.array_equal(a, b)


def test_no_augment_is_identity():
    img = sample_image()
    assert np.array_equal(np.asarray(augment(img, random.Random(0), NO_AUGMENT)), np.asarray(img))


def test_jpeg_round_trip_changes_noise():
    img = sample_image()
    out = jpeg_round_trip(img, 50)
    assert out.size == img.size and not np.array_equal(np.asarray(out), np.asarray(img))


def test_light_profile_keeps_only_flips_and_jpeg():
    from training.augment import augment_config

    light = augment_config("light", 0.4)
    assert light.crop_prob == 0.0 and light.jitter_prob == 0.0 and light.rescale_prob == 0.0
    assert light.flip_prob > 0.0 and light.jpeg_prob == 0.4
    full = augment_config("full", 0.5)
    assert full.crop_prob > 0.0 and full.rescale_prob > 0.0 and full.jpeg_prob == 0.5
