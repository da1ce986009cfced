"""Aligned fakes: reconstructions of a dataset's real photos through generative autoencoders.

    /usr/bin/python3 -m training.aligned_fakes --dataset data/general --families taef2,nearest-x4 \
        --taef2 models/taef2 --autoencoders runs/ae --per-source 300

For every real photo chosen (a seeded sample of at most --per-source per REAL source in train and
a quarter of that in val, all of them with --per-source 0), one crop of at most --crop px at an 8-aligned offset, at native
resolution (nothing is resized), is reconstructed by each family and saved as
`<dataset>/aligned/FAKE/aligned-<family>/<split>-<sha256 of the photo file>.jpg` (the source level
of the dataset layout names the family), baseline JPEG quality 95
(4:2:0), the format the shared archives' real photos were packed in, so that format says nothing.
`aligned/index.json` records each reconstruction's photo and crop box: the trainer pairs a
reconstruction with the same crop of its photo (training/train_patches.py, --aligned-families).

The folder is a cache: a reconstruction that exists is not made again, so held-out folds, reruns
and the pipeline's training step (which runs this before the trainer) share it. Feedback and
customer datasets get theirs the same way: the step reads the dataset's REAL folders, whatever
they hold.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from .autoencoders import Autoencoder, load_taef2, reconstruct
from .dataset_files import sha256_file
from .patch_data import SourcedItem, list_sourced
from .image_decode import decode_file
from .patches import ALIGN
from .progress_log import say

ALIGNED_DIR = "aligned"
INDEX_FILE = "index.json"
JPEG_QUALITY = 95


@dataclass(frozen=True)
class AlignedFake:
    path: str  # the reconstruction, relative to the dataset root
    original: str  # the real photo it reconstructs, relative to the dataset root
    source: str  # the photo's REAL source
    family: str
    split: str
    box: tuple[int, int, int, int]  # x, y, w, h of the crop in the photo

    @property
    def key(self) -> str:
        return f"FAKE/aligned-{self.family}"


def load_autoencoder(family: str, taef2: Optional[Path], autoencoders: Optional[Path]) -> Autoencoder:
    if family == "taef2":
        if taef2 is None:
            raise ValueError("the taef2 family needs --taef2 (the folder of taef2_encoder.pth and taef2_decoder.pth)")
        return load_taef2(taef2)
    if autoencoders is None:
        raise ValueError(f"family {family} needs --autoencoders (a folder of <family>.pt from training.train_autoencoder)")
    from .train_autoencoder import load_family

    return load_family(autoencoders / f"{family}.pt")


def crop_box(width: int, height: int, crop: int, rng: random.Random) -> tuple[int, int, int, int]:
    w, h = min(width, crop), min(height, crop)
    x = rng.randrange(0, (width - w) // ALIGN + 1) * ALIGN
    y = rng.randrange(0, (height - h) // ALIGN + 1) * ALIGN
    return x, y, w, h


def choose_photos(items: Sequence[SourcedItem], per_source: int, seed: int) -> list[SourcedItem]:
    """At most `per_source` REAL photos per source (all with 0): the first of a seeded shuffle, so
    that a larger number keeps every photo a smaller one chose (and its cached reconstruction)."""
    chosen: list[SourcedItem] = []
    for source in sorted({it.source for it in items if it.label == 0}):
        of_source = sorted((it for it in items if it.label == 0 and it.source == source), key=lambda it: it.path)
        random.Random(f"{seed}:{source}").shuffle(of_source)
        chosen += of_source if per_source <= 0 else of_source[:per_source]
    return sorted(chosen, key=lambda it: it.path)


def encode_jpeg(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=JPEG_QUALITY, subsampling=2, optimize=True)
    return buf.getvalue()


def read_index(root: Path) -> list[AlignedFake]:
    file = root / ALIGNED_DIR / INDEX_FILE
    if not file.is_file():
        return []
    return [AlignedFake(**{**row, "box": tuple(row["box"])}) for row in json.loads(file.read_text())]


def build_aligned(
    root: Path,
    families: Sequence[str],
    per_source: int,
    crop: int,
    seed: int,
    taef2: Optional[Path] = None,
    autoencoders: Optional[Path] = None,
    splits: Sequence[str] = ("train", "val"),
) -> list[AlignedFake]:
    """Makes (or finds) the reconstructions and returns every aligned fake of `families` for the
    photos chosen; the index on disk keeps all families ever built for the dataset."""
    known = {(f.path): f for f in read_index(root)}
    result: list[AlignedFake] = []
    for family in families:
        model: Optional[Autoencoder] = None
        made, started = 0, time.time()
        for split in splits:
            # Validation needs fewer: it only sets the real threshold and measures in-source.
            photos = choose_photos(list_sourced(root, split), per_source if split == "train" or per_source <= 0 else max(1, per_source // 4), seed)
            for photo in photos:
                digest = sha256_file(root / photo.path)
                rel = f"{ALIGNED_DIR}/FAKE/aligned-{family}/{split}-{digest}.jpg"
                if rel in known and (root / rel).is_file():
                    result.append(known[rel])
                    continue
                if model is None:
                    model = load_autoencoder(family, taef2, autoencoders)
                pixels = np.asarray(decode_file(root / photo.path), dtype=np.uint8)
                box = crop_box(pixels.shape[1], pixels.shape[0], crop, random.Random(f"{seed}:{digest}"))
                x, y, w, h = box
                fake = reconstruct(model, np.ascontiguousarray(pixels[y : y + h, x : x + w]))
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(encode_jpeg(fake))
                entry = AlignedFake(rel, photo.path, photo.source, family, split, box)
                known[rel] = entry
                result.append(entry)
                made += 1
                if made % 100 == 0:
                    say(f"aligned {family}: {made} made ({time.time() - started:.0f} s)")
                    _write_index(root, known)
        if made:
            _write_index(root, known)
        say(f"aligned {family}: {made} made, {sum(1 for f in result if f.family == family)} in all")
    return result


def _write_index(root: Path, known: dict) -> None:
    """Writes the index: what is on disk now (another family may be building beside this one) plus `known`."""
    merged = {f.path: f for f in read_index(root)}
    merged.update(known)
    rows = [{**asdict(f), "box": list(f.box)} for f in sorted(merged.values(), key=lambda f: f.path)]
    (root / ALIGNED_DIR).mkdir(parents=True, exist_ok=True)
    tmp = root / ALIGNED_DIR / f"{INDEX_FILE}.{os.getpid()}.tmp"  # several folds or runs may build at once
    tmp.write_text(json.dumps(rows) + "\n")
    tmp.replace(root / ALIGNED_DIR / INDEX_FILE)


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", required=True, type=Path)
    p.add_argument("--families", required=True, help="comma-separated: taef2 and/or small autoencoder families (nearest-x4, ...)")
    p.add_argument("--taef2", type=Path)
    p.add_argument("--autoencoders", type=Path)
    p.add_argument("--per-source", type=int, default=200)
    p.add_argument("--crop", type=int, default=160)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    fakes = build_aligned(a.dataset, a.families.split(","), a.per_source, a.crop, a.seed, a.taef2, a.autoencoders)
    say(f"{len(fakes)} aligned fakes under {a.dataset / ALIGNED_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
