"""JPEG robustness of a trained run: accuracy on a split as stored and re-encoded as JPEG.

    python3 -m training.robustness runs/cifake-final [--quality 75] [--split val]

Re-encoding happens on the decoded original, before the contract preprocessing, as when a
photo is recompressed on its way to the service. Writes <run>/robustness.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .augment import jpeg_round_trip
from .checkpoint_io import load_model
from .evaluation import evaluate
from .image_decode import decode_file
from .preprocess import to_uint8_hwc


def decode_with_jpeg(root: Path, entries: list[dict], size: int, quality: Optional[int]) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.empty((len(entries), size, size, 3), dtype=np.uint8)
    for index, entry in enumerate(entries):
        img = decode_file(root / entry["path"])
        if quality is not None:
            img = jpeg_round_trip(img, quality)
        pixels[index] = to_uint8_hwc(img, size)
    return pixels, np.array([entry["label"] for entry in entries], dtype=np.int64)


def robustness_summary(clean: dict, degraded: dict, quality: int) -> dict:
    return {
        "clean_accuracy": clean["accuracy"],
        f"jpeg{quality}_accuracy": degraded["accuracy"],
        "drop_points": round(100.0 * (clean["accuracy"] - degraded["accuracy"]), 4),
        "clean_roc_auc": clean["roc_auc"],
        f"jpeg{quality}_roc_auc": degraded["roc_auc"],
        "quality": quality,
        "n": clean["n"],
    }


def measure_patches(run_dir: Path, root: Path, entries: list[dict], quality: int) -> dict:
    """The patch detector (training.train_patches): whole images at native resolution, scored as
    serving does (patch grid, mean logit), at the run's own validation threshold."""
    from .metrics import binary_metrics
    from .train_patches import load_patchnet, score_pixels, sigmoid  # imports torch models only when needed

    metadata = json.loads((run_dir / "metadata.json").read_text())
    spec = metadata["patches"]
    model = load_patchnet(run_dir)
    labels = np.array([entry["label"] for entry in entries], dtype=np.int64)
    results = []
    for q in (None, quality):
        images = [np.asarray(jpeg_round_trip(decode_file(root / e["path"]), q) if q else decode_file(root / e["path"])) for e in entries]
        results.append(
            binary_metrics(
                labels, sigmoid(spec.get("logit_scale", 1.0) * score_pixels(model, images, spec["size"], spec["count"])["logit"]), metadata["threshold"]
            )
        )
    return robustness_summary(results[0], results[1], quality)


def measure(run_dir: Path, dataset: Optional[Path] = None, quality: int = 75, split: str = "val") -> dict:
    if (run_dir / "metadata.json").is_file() and "patches" in json.loads((run_dir / "metadata.json").read_text()):
        if dataset is None or not Path(dataset).is_dir():
            raise FileNotFoundError(f"dataset folder {dataset} not found; pass --dataset")
        entries = json.loads((run_dir / "split.json").read_text())[split]
        return {**measure_patches(run_dir, Path(dataset), entries, quality), "split": split}
    model, checkpoint = load_model(run_dir / "checkpoint.pt")
    root = Path(dataset or checkpoint.get("dataset_path") or "")
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} not found; pass --dataset")
    entries = json.loads((run_dir / "split.json").read_text())[split]
    if not entries:
        raise ValueError(f"split {split!r} of {run_dir}/split.json is empty")
    size = checkpoint["model_config"]["image_size"]
    model = model.to(memory_format=torch.channels_last)
    clean = evaluate(model, *decode_with_jpeg(root, entries, size, None))
    degraded = evaluate(model, *decode_with_jpeg(root, entries, size, quality))
    return {**robustness_summary(clean, degraded, quality), "split": split}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m training.robustness", description=__doc__.split("\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--dataset", type=Path, help="dataset folder (default: the one recorded in the checkpoint)")
    p.add_argument("--quality", type=int, default=75)
    p.add_argument("--split", default="val", choices=("val", "test", "train"))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        result = measure(args.run_dir, args.dataset, args.quality, args.split)
    except (OSError, ValueError, KeyError) as error:
        print(json.dumps({"event": "error", "message": f"{type(error).__name__}: {error}"}))
        return 1
    (args.run_dir / "robustness.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
