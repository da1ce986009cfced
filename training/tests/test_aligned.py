"""Aligned fakes: the autoencoders that make them, the cached builder, pairing in the training
batch, the sampling weights with pairs, and the operating point."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from training.aligned_fakes import build_aligned, read_index
from training.autoencoders import load_taef2, psnr, reconstruct, small_autoencoder
from training.operating_point import decisions, operating_point, wilson
from training.patch_data import PatchAugment, SourcedItem
from training.train_patches import Pairs, calibration_mask, draw_batch, draw_weights

TAEF2 = Path(__file__).resolve().parents[1] / "taef2"
PHOTO = Path(__file__).resolve().parents[2] / "functions" / "test" / "fixtures" / "images" / "photo.jpg"


def photo() -> np.ndarray:
    return np.asarray(Image.open(PHOTO).convert("RGB"), dtype=np.uint8)


def test_taef2_reconstructs_a_photo_at_its_own_size_and_fidelity():
    torch.set_num_threads(1)
    pixels = photo()[:100, :123]  # neither side a multiple of 8: padded, then cropped back
    out = reconstruct(load_taef2(TAEF2), np.ascontiguousarray(pixels))
    assert out.shape == pixels.shape and out.dtype == np.uint8
    # Typical for latent autoencoders on photographs; a wrong layer order gives noise (< 15 dB).
    assert psnr(pixels, out) > 25.0
    assert not np.array_equal(pixels, out)


@pytest.mark.parametrize("upsampling,factor", [("nearest", 4), ("bilinear", 8), ("transposed", 4)])
def test_small_autoencoder_families_keep_the_size(upsampling, factor):
    model = small_autoencoder(upsampling, factor).eval()
    out = reconstruct(model, np.ascontiguousarray(photo()[:50, :70]))
    assert out.shape == (50, 70, 3)
    assert model.family == f"{upsampling}-x{factor}"


def test_unknown_family_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="nearest, bilinear, transposed"):
        small_autoencoder("bicubic", 4)
    with pytest.raises(ValueError, match="expected 4 or 8"):
        small_autoencoder("nearest", 2)


def write_real_photos(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for source in ("a", "b"):
            folder = root / split / "REAL" / source
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (40 + i, 48, 3), dtype=np.uint8)).save(folder / f"{i}.jpg", quality=90)
        (root / split / "FAKE" / "gen").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(root / split / "FAKE" / "gen" / "g.jpg")


def test_build_aligned_makes_cached_paired_reconstructions(tmp_path: Path):
    write_real_photos(tmp_path, 3)
    model_dir = tmp_path / "ae"
    model_dir.mkdir()
    torch.save({"family": "nearest-x4", "state": small_autoencoder("nearest", 4).state_dict()}, model_dir / "nearest-x4.pt")
    fakes = build_aligned(tmp_path, ["nearest-x4"], per_source=2, crop=32, seed=1, autoencoders=model_dir)
    train = [f for f in fakes if f.split == "train"]
    assert len(train) == 4 and {f.source for f in train} == {"a", "b"}  # two per source in train
    assert len([f for f in fakes if f.split == "val"]) == 2  # a quarter of that (at least one) per source in val
    for fake in fakes:
        assert fake.path.startswith("aligned/FAKE/aligned-nearest-x4/") and fake.original.startswith(f"{fake.split}/REAL/")
        x, y, w, h = fake.box
        original = Image.open(tmp_path / fake.original)
        assert x % 8 == 0 and y % 8 == 0 and x + w <= original.width and y + h <= original.height and w <= 32 and h <= 32
        made = Image.open(tmp_path / fake.path)
        assert made.format == "JPEG" and made.size == (w, h)
    assert {f.path for f in read_index(tmp_path)} == {f.path for f in fakes}
    stamps = {f.path: (tmp_path / f.path).stat().st_mtime_ns for f in fakes}
    again = build_aligned(tmp_path, ["nearest-x4"], per_source=2, crop=32, seed=1, autoencoders=model_dir)
    assert again == fakes and all((tmp_path / f.path).stat().st_mtime_ns == stamps[f.path] for f in again)
    # A larger sample keeps the smaller one's photos (and their cached reconstructions).
    more = build_aligned(tmp_path, ["nearest-x4"], per_source=3, crop=32, seed=1, autoencoders=model_dir)
    assert {f.path for f in fakes} < {f.path for f in more}


def test_a_pair_shares_its_crop_and_augmentation():
    rng = np.random.default_rng(3)
    photo_pixels = rng.integers(0, 256, (120, 140, 3), dtype=np.uint8)
    box = (16, 8, 96, 100)
    x, y, w, h = box
    fake = photo_pixels[y : y + h, x : x + w].copy()  # a "reconstruction" equal to its crop
    pixels = [photo_pixels, fake]
    pairs = Pairs(np.array([-1, 0]), (None, box))
    labels = np.array([0, 1])
    cfg = PatchAugment(size=32)
    patches, ys, owners = draw_batch(np.array([1, 1, 1]), pixels, labels, pairs, random.Random(5), cfg, 6)
    assert ys.tolist() == [1, 0, 1, 0, 1, 0] and owners.tolist() == [1, 0, 1, 0, 1, 0]
    for k in range(0, 6, 2):
        np.testing.assert_array_equal(patches[k], patches[k + 1])  # same crop, same augmentation
    assert not np.array_equal(patches[0], patches[2])  # but each pair its own


def test_pair_sampling_keeps_the_classes_even():
    items = [SourcedItem("r1", 0, "a"), SourcedItem("r2", 0, "b"), SourcedItem("f1", 1, "aligned-x"), SourcedItem("g1", 1, "gen")]
    pairs = Pairs(np.array([-1, -1, 0, -1]), (None, None, (0, 0, 8, 8), None))
    w = draw_weights(items, pairs, "source", aligned_share=0.5)
    # Per draw: real patches = P(real) + P(aligned) (each aligned draw brings its photo); fake = P(aligned) + P(generator).
    assert w[0] + w[1] + w[2] == pytest.approx(w[2] + w[3])
    aligned_only = [items[0], items[2]]
    w2 = draw_weights(aligned_only, Pairs(np.array([-1, 0]), (None, (0, 0, 8, 8))), "source", aligned_share=None)
    assert w2.tolist() == [0.0, 1.0]  # only pairs: half real, half fake by construction


def test_the_calibration_split_keeps_pairs_together_and_is_never_drawn():
    photos = [SourcedItem(f"train/REAL/a/{i}.jpg", 0, "a") for i in range(2000)]
    fakes = [SourcedItem(f"train/aligned/taef2/{i}.png", 1, "aligned-taef2") for i in range(0, 2000, 2)]
    items = photos + fakes
    pairs = Pairs(np.array([-1] * 2000 + list(range(0, 2000, 2))), (None,) * 2000 + ((0, 0, 8, 8),) * 1000)
    mask = calibration_mask(items, pairs, 0.15)
    # Chosen by the photo: a reconstruction goes wherever its photo goes; the same photos every time.
    assert all(mask[2000 + k] == mask[2 * k] for k in range(1000))
    assert np.array_equal(mask, calibration_mask(items, pairs, 0.15))
    assert 0.12 < mask[:2000].mean() < 0.18
    assert not calibration_mask(items, pairs, 0.0).any()
    weights = draw_weights(items, pairs, "source", None, mask)
    assert weights[mask].sum() == 0 and weights.sum() == pytest.approx(1.0)
    assert (weights[~mask & (pairs.original >= 0)] > 0).all()


def test_operating_point_bounds_both_errors():
    rng = np.random.default_rng(0)
    real = rng.beta(2, 5, 500)
    fake = rng.beta(5, 2, 500)
    point = operating_point(real, fake, 0.02, 0.02)
    assert (real >= point.ai_threshold).mean() <= 0.02
    assert (fake < point.real_threshold).mean() <= 0.02
    assert point.real_threshold <= point.ai_threshold
    shares = decisions(np.concatenate([real, fake]), point)
    assert shares["ai"] + shares["real"] + shares["uncertain"] == pytest.approx(1.0)
    separated = operating_point(np.array([0.1, 0.2]), np.array([0.8, 0.9]), 0.02, 0.02)
    assert separated.real_threshold <= separated.ai_threshold and separated.ai_threshold > 0.2


def test_wilson_interval_contains_the_rate():
    low, high = wilson(2, 100)
    assert low < 0.02 < high and high < 0.08
    assert wilson(0, 0) == (0.0, 1.0)
    assert json.dumps(wilson(0, 50))  # plain floats


def test_heldout_fold_reports_the_held_out_collection_and_unseen_generators(tmp_path: Path):
    from training import heldout_eval

    rng = np.random.default_rng(1)
    for split in ("train", "val"):
        for cls, source in (("REAL", "a"), ("REAL", "b"), ("FAKE", "g1"), ("FAKE", "g2")):
            folder = tmp_path / split / cls / source
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(4):
                Image.fromarray(rng.integers(0, 256, (72, 72, 3), dtype=np.uint8)).save(folder / f"{i}.jpg", quality=90)
    out = tmp_path / "out"
    heldout_eval.main(
        [
            "--dataset",
            str(tmp_path),
            "--out",
            str(out),
            "--folds",
            "REAL/a",
            "--max-test",
            "5",
            "--shift-held-out",
            "4",
            "--",
            "--epochs",
            "1",
            "--samples-per-epoch",
            "32",
            "--batch-size",
            "16",
            "--ood-images",
            "8",
            "--threads",
            "1",
            "--generators",
            "exclude",
            "--patches",
            "4",
        ]
    )
    report = json.loads((out / "heldout.json").read_text())
    fold = report["folds"][0]
    assert fold["fold"] == "REAL/a" and fold["held_out_real"]["n"] == 5  # 8 photos of a, sampled to --max-test
    shares = fold["held_out_real"]
    assert shares["ai"] + shares["real"] + shares["uncertain"] == pytest.approx(1.0)
    # Trained on REAL/b alone (no generators): both generator folders are held out and reported.
    assert sorted(fold["held_out_generators"]) == ["FAKE/g1", "FAKE/g2"]
    assert fold["operating_point"]["real_threshold"] <= fold["operating_point"]["ai_threshold"]
    # Every score is kept, so that thresholds can be set on other folds: the held-out photos, the
    # generator images it tested and its own validation split (REAL/b's 4 photos; no fakes trained).
    scores = fold["scores"]
    assert len(scores["held_out_real"]) == 5 and len(scores["generators"]) == 5
    assert len(scores["in_source_real"]) == 4 and scores["in_source_fake"] == []
    # The diagnostic: the same 5 photos, 4 px off the grid, read at the same thresholds.
    assert fold["held_out_real_shifted"]["n"] == 5 and fold["held_out_real_shifted"]["shift"] == 4


def test_the_operating_point_case_table_is_current():
    """functions/test/fixtures/operating-point-cases.json, which pipeline/src/operating-point.ts is
    checked against, holds this module's answers: regenerate it with python3 -m training.operating_point_cases."""
    from training import operating_point_cases

    committed = json.loads(operating_point_cases.OUT.read_text())["cases"]
    assert committed == operating_point_cases.cases()
