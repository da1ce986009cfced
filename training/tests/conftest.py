"""Tiny generated datasets; nothing on disk is committed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_dataset(root: Path, per_class: int = 12, size: tuple[int, int] = (40, 36), with_val: bool = False, seed: int = 0) -> Path:
    """REAL images are smooth gradients, FAKE ones are noise, so a few steps separate them."""
    rng = np.random.default_rng(seed)
    (root).mkdir(parents=True, exist_ok=True)
    (root / "dataset.json").write_text(json.dumps({"name": "tiny", "version": "t1"}))
    splits = ["train", "val"] if with_val else ["train"]
    w, h = size
    for split in splits:
        for cls in ("REAL", "FAKE"):
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                if cls == "FAKE":
                    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                else:
                    base = rng.integers(0, 200)
                    ramp = np.linspace(0, 55, w, dtype=np.float32)[None, :, None]
                    pixels = np.broadcast_to(base + ramp, (h, w, 3)).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i} ({i}).jpg", quality=90)
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "tiny")


REPO = Path(__file__).resolve().parents[2]


def train_apart(argv: list[str]) -> None:
    """Runs `python -m training.train argv` in a process of its own. Debian's torch 1.13 corrupts
    the heap when one process runs several trainings (a segmentation fault in convolution backward,
    or at exit); a test that needs several trained models trains each one apart, so the test
    process itself never runs backward."""
    done = subprocess.run([sys.executable, "-m", "training.train", *argv], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"training.train exited with {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


TINY_TRAINING = {"image_size": 24, "width": 8, "batch_size": 8, "max_steps": 2, "val_fraction": 0.3}


def tiny_argv(dataset: Path, out: Path, **flags) -> list[str]:
    """Arguments of a tiny `training.train` run (24 px, width 8, batch 8, 2 steps, 30 % validation);
    keyword flags override those or add others (`max_steps=3`, `device="cuda"`)."""
    argv = ["--dataset", str(dataset), "--out", str(out)]
    for name, value in {**TINY_TRAINING, **flags}.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return argv
