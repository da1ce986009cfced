"""Builds the source-aware `general` dataset folder from the shared archives.

    python3 -m training.general_dataset --data data --out data/general

Reads data/mixed (manifest.csv), data/real-extra (manifest.csv) and data/shoes, and writes
<out>/dataset.json plus train/ and val/ folders in the source-aware layout
(<split>/<REAL|FAKE>/<source>/<file>), each file a hard link to the unpacked image (a copy where
the two folders are on different file systems), so the folder costs no space and every reader
sees plain files. Splits: shoes keeps its publisher's train/valid split; mixed and
real-extra are carved by `pixel_sha256` (the dataset rule of models/shared-constants.json applied to
the decoded-pixel hash, 15 %), so that no image straddles train and validation.

Sources: REAL grocery, food, kream (mixed), imagenet (real-extra), shoes-real (shoes); FAKE one per
mixed generator folder, and shoes-midjourney.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
from pathlib import Path
from typing import Optional, Sequence

from .dataset_files import is_validation

VAL_FRACTION = 0.15


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def manifest_items(root: Path) -> list[tuple[Path, str, str, str]]:
    """(file, class folder, source, split) for a manifest archive (mixed, real-extra)."""
    items = []
    with open(root / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            label = row["label"]
            folder_source = row["path"].split("/")[1]
            source = "imagenet" if root.name == "real-extra" else folder_source
            split = "val" if is_validation(row["pixel_sha256"], VAL_FRACTION) else "train"
            items.append((root / row["path"], label, source, split))
    return items


def shoes_items(root: Path) -> list[tuple[Path, str, str, str]]:
    items = []
    # The archive names its validation split "valid"; scripts/ops/prepare-data.sh renames it "val".
    valid = "val" if (root / "val").is_dir() else "valid"
    for split_dir, split in (("train", "train"), (valid, "val")):
        for label, source in (("REAL", "shoes-real"), ("FAKE", "shoes-midjourney")):
            for file in sorted((root / split_dir / label).glob("*")):
                if file.is_file():
                    items.append((file, label, source, split))
    return items


def build(data: Path, out: Path) -> dict:
    items = manifest_items(data / "mixed") + manifest_items(data / "real-extra") + shoes_items(data / "shoes")
    counts: dict[str, dict[str, int]] = {}
    for file, label, source, split in items:
        _link(file, out / split / label / source / file.name)
        key = f"{label}/{source}"
        counts.setdefault(key, {"train": 0, "val": 0})[split] += 1
    info = {
        "name": "general",
        "version": "1",
        "classes": ["REAL", "FAKE"],
        "recipe": "general",
        "description": "The shared mixed, real-extra and shoes archives, one folder per source (REAL: grocery, food, kream, imagenet, shoes-real; FAKE: 14 generators and shoes-midjourney); built by python3 -m training.general_dataset",
        "author": "AI Product Photo Detector",
        "license": "research and evaluation only: see the archives' licences (Food-101 terms, ImageNet terms, sources without a licence)",
    }
    (out / "dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    return counts


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("data"), help="folder the shared archives were unpacked into")
    p.add_argument("--out", type=Path, default=Path("data/general"))
    args = p.parse_args(argv)
    counts = build(args.data, args.out)
    for key in sorted(counts):
        print(f"{key:32s} train {counts[key]['train']:5d}  val {counts[key]['val']:4d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
