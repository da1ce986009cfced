"""The patch detector's parts: the grid (shared with serving), patches, representations,
aggregation, augmentation, source-aware listing and balancing, the OOD statistics, and a tiny
end-to-end training run with two sources per class and its leave-one-source-out fold."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image

from training import loso, patch_grid_cases, train_patches
from training.patch_data import PatchAugment, SourcedItem, augmented_patch, balanced_weights, list_sourced, source_of
from training.patches import Representation, aggregate, extract_patches, patch_grid
from training.train_patches import choose_threshold, fit_ood, main as train_main, ood_distance


def test_grid_matches_the_committed_case_table():
    committed = json.loads(patch_grid_cases.OUT.read_text())["cases"]
    assert committed == patch_grid_cases.cases()


@pytest.mark.parametrize("w,h", [(1, 1), (7, 300), (5000, 40), (4000, 3000), (240, 240)])
def test_grid_is_bounded_and_aligned(w, h):
    boxes = patch_grid(w, h, 64, 16)
    assert 1 <= len(boxes) <= 16
    for x, y, bw, bh in boxes:
        assert x % 8 == 0 and y % 8 == 0 and x + bw <= w and y + bh <= h


def test_patches_are_exact_crops_and_edge_padded():
    img = np.arange(10 * 6 * 3, dtype=np.uint8).reshape(6, 10, 3)
    patch = extract_patches(img, [(0, 0, 8, 6)], 8)[0]
    assert patch.shape == (8, 8, 3)
    np.testing.assert_array_equal(patch[:6, :8], img[:, :8])
    np.testing.assert_array_equal(patch[7, 3], img[5, 3])


def test_representations():
    flat_blocks = torch.ones(1, 3, 8, 8)
    assert torch.count_nonzero(Representation("npr")(flat_blocks)) == 0
    assert torch.count_nonzero(Representation("highpass")(flat_blocks)[:, :, 1:-1, 1:-1]) == 0
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(Representation("rgb")(x), x)
    with pytest.raises(ValueError, match="expected one of"):
        Representation("dct")


def test_aggregate_is_sigmoid_of_mean_logit():
    assert aggregate(np.array([2.0, -1.0, 0.0, 3.0])) == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_augmented_patch_is_deterministic_and_sized():
    img = np.random.default_rng(0).integers(0, 256, (120, 90, 3), dtype=np.uint8)
    cfg = PatchAugment(size=32)
    a = [augmented_patch(img, random.Random(5), cfg) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    rng = random.Random(1)
    for _ in range(30):
        assert augmented_patch(img, rng, cfg).shape == (32, 32, 3)
    small = np.zeros((20, 20, 3), dtype=np.uint8)
    assert augmented_patch(small, random.Random(2), cfg).shape == (32, 32, 3)


def test_patches_start_on_the_grid_unless_any_phase_is_asked_for():
    # Each pixel holds its own coordinates: a patch's first pixel says where it was cut.
    ys, xs = np.mgrid[0:200, 0:200]
    img = np.stack([ys, xs, np.zeros_like(ys)], axis=-1).astype(np.uint8)

    def starts(phase: str) -> set[tuple[int, int]]:
        cfg = PatchAugment(size=32, enabled=False, phase=phase)
        return {tuple(int(v) for v in augmented_patch(img, random.Random(seed), cfg)[0, 0, :2]) for seed in range(60)}

    assert all(y % 8 == 0 and x % 8 == 0 for y, x in starts("aligned"))
    off_grid = [(y, x) for y, x in starts("any") if y % 8 or x % 8]
    assert len(off_grid) > 30


def test_source_of_and_balanced_weights():
    assert source_of("train/FAKE/sd/x.jpg") == "sd"
    assert source_of("train/REAL/x.jpg") == "default"
    items = [SourcedItem(f"p{i}", 0, "a") for i in range(8)] + [SourcedItem("q", 0, "b")] + [SourcedItem(f"f{i}", 1, "c") for i in range(3)]
    w = balanced_weights(items)
    assert w.sum() == pytest.approx(1.0)
    assert w[:8].sum() == pytest.approx(0.25) and w[8] == pytest.approx(0.25) and w[9:].sum() == pytest.approx(0.5)


def test_ood_distance_is_small_in_distribution_and_large_outside():
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, (500, 4)) * np.array([1, 2, 0.5, 1])
    ood = fit_ood(train)
    near = ood_distance(rng.normal(0, 1, (200, 4)) * np.array([1, 2, 0.5, 1]), ood)
    far = ood_distance(rng.normal(6, 1, (200, 4)), ood)
    assert np.median(near) < 3 < np.median(far)


def test_threshold_maximises_balanced_accuracy():
    labels = np.array([0, 0, 0, 0, 1, 1])
    probs = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    assert choose_threshold(labels, probs) == pytest.approx(0.7)


def _write_sourced(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset.json").write_text(
        json.dumps(
            {
                "name": "tiny-sources",
                "version": "1",
                "classes": ["REAL", "FAKE"],
                "description": "gradients (REAL) vs noise (FAKE), two sources each",
                "author": "tests",
            }
        )
    )
    for split, n in (("train", 10), ("val", 4)):
        for cls, sources in (("REAL", ("cam1", "cam2")), ("FAKE", ("gen1", "gen2"))):
            for source in sources:
                folder = root / split / cls / source
                folder.mkdir(parents=True, exist_ok=True)
                for i in range(n):
                    h, w = 48 + 8 * (i % 3), 56
                    if cls == "FAKE":
                        px = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                    else:
                        px = np.broadcast_to(np.linspace(0, 200, w, dtype=np.uint8)[None, :, None], (h, w, 3)).copy()
                        px[0, 0] = rng.integers(0, 256, 3)  # every image distinct
                    Image.fromarray(px).save(folder / f"{source}-{i}.png")
    return root


def test_listing_reads_the_source_level(tmp_path):
    root = _write_sourced(tmp_path / "ds")
    items = list_sourced(root, "train")
    assert {(it.label, it.source) for it in items} == {(0, "cam1"), (0, "cam2"), (1, "gen1"), (1, "gen2")}


def test_tiny_training_run_with_two_sources_exports_a_patch_model(tmp_path):
    root = _write_sourced(tmp_path / "ds")
    out = tmp_path / "run"
    assert 0 == train_main(
        [
            "--dataset",
            str(root),
            "--out",
            str(out),
            "--width",
            "4",
            "--patch-size",
            "16",
            "--patches",
            "4",
            "--epochs",
            "2",
            "--samples-per-epoch",
            "64",
            "--batch-size",
            "32",
            "--ood-images",
            "20",
            "--source-adversary",
            "0.3",
            "--threads",
            "1",
        ]
    )
    metadata = json.loads((out / "metadata.json").read_text())
    assert {k: v for k, v in metadata["patches"].items() if k != "logit_scale"} == {
        "mode": "grid",
        "size": 16,
        "count": 4,
        "align": 8,
        "aggregation": "mean_logit",
    }
    assert metadata["patches"]["logit_scale"] > 0
    assert len(metadata["ood"]["mean"]) == 24 and len(metadata["ood"]["whitening"]) == 24
    graph = onnx.load(str(out / "model.onnx")).graph
    assert [o.name for o in graph.output] == ["logits", "embedding"]
    training = json.loads((out / "training.json").read_text())
    assert set(training["val"]["per_source"]) == {"REAL/cam1", "REAL/cam2", "FAKE/gen1", "FAKE/gen2"}
    rows = json.loads((out / "val_scores.json").read_text())
    assert len(rows) == 16 and {r["source"] for r in rows} == {"cam1", "cam2", "gen1", "gen2"}


def test_the_logit_scale_is_fitted_on_the_calibration_split(tmp_path, monkeypatch):
    root = _write_sourced(tmp_path / "ds")
    items = list_sourced(root, "train")
    mask = train_patches.calibration_mask(items, train_patches.Pairs.none(len(items)), 0.5)
    assert {items[i].label for i in np.flatnonzero(mask)} == {0, 1}  # both classes held apart
    fitted = []
    fit = train_patches.fit_logit_scale
    monkeypatch.setattr(train_patches, "fit_logit_scale", lambda labels, logits: fitted.append(labels.tolist()) or fit(labels, logits))
    argv = ["--dataset", str(root), "--out", str(tmp_path / "run"), "--width", "8", "--patch-size", "16", "--patches", "4", "--epochs", "1"]
    argv += ["--samples-per-epoch", "32", "--batch-size", "16", "--ood-images", "20", "--threads", "1", "--calibration-share", "0.5"]
    assert 0 == train_main(argv)
    # Fitted once, on exactly the held-apart images (not on the --ood-images training sample).
    assert fitted == [[items[i].label for i in np.flatnonzero(mask)]]
    training = json.loads((tmp_path / "run" / "training.json").read_text())
    assert training["args"]["calibration_share"] == 0.5


def test_leave_one_source_out_fold(tmp_path):
    root = _write_sourced(tmp_path / "ds")
    out = tmp_path / "loso"
    loso.main(
        [
            "--dataset",
            str(root),
            "--out",
            str(out),
            "--sources",
            "FAKE/gen2",
            "--max-test",
            "6",
            "--",
            "--width",
            "4",
            "--patch-size",
            "16",
            "--patches",
            "4",
            "--epochs",
            "1",
            "--samples-per-epoch",
            "64",
            "--batch-size",
            "32",
            "--ood-images",
            "20",
            "--threads",
            "1",
        ]
    )
    fold = json.loads((out / "loso.json").read_text())["folds"][0]
    assert fold["source"] == "FAKE/gen2" and fold["held_out_images"] == 6
    for name in loso.VARIANTS:
        assert 0.0 <= fold[name]["coverage"] <= 1.0 and 0.0 <= fold[name]["wrong"] <= fold[name]["coverage"]
    assert fold["long512"].get("identity") is True


def test_logit_scale_recovers_a_shrunken_logit():
    from training.train_patches import fit_logit_scale

    rng = np.random.default_rng(0)
    true = rng.normal(0, 3, 4000)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-true))).astype(int)
    assert fit_logit_scale(labels, true / 4) == pytest.approx(4, rel=0.15)
