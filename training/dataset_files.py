"""Lists the images of a dataset folder and assigns each to a split.

A dataset folder holds dataset.json, train/, optional val/ and optional test/, each split
holding REAL/ and FAKE/ sub-folders. Without val/, a validation split is carved out of train/
by content hash, so byte-identical files always land in the same split.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .constants import CLASS_DIRS, IMAGE_EXTENSIONS, SPLIT_HEX_DIGITS, SPLIT_MODULUS


class DatasetError(ValueError):
    """The dataset folder does not follow the dataset contract."""


@dataclass(frozen=True)
class Item:
    path: str  # relative to the dataset root, POSIX separators
    label: int
    sha256: str

    def to_json(self) -> dict:
        return {"path": self.path, "label": self.label, "sha256": self.sha256}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_validation(sha256: str, val_fraction: float) -> bool:
    """Pure split rule: the first 8 hex digits of the content hash decide, in 1/10000 steps
    (models/shared-constants.json, the same rule as the pipeline's split prediction)."""
    return int(sha256[:SPLIT_HEX_DIGITS], 16) % SPLIT_MODULUS < val_fraction * SPLIT_MODULUS


def list_split(root: Path, split: str) -> list[tuple[str, int]]:
    """(relative path, label) for every image under root/split/{REAL,FAKE}, sorted by path."""
    split_dir = root / split
    found: list[tuple[str, int]] = []
    missing = [name for name in CLASS_DIRS if not (split_dir / name).is_dir()]
    if missing:
        raise DatasetError(f"{split_dir} lacks class folder(s) {', '.join(missing)}; " f"each split needs {' and '.join(CLASS_DIRS)} sub-folders")
    for class_name, label in CLASS_DIRS.items():
        for file in (split_dir / class_name).rglob("*"):
            if file.is_file() and file.suffix.lower() in IMAGE_EXTENSIONS:
                found.append((file.relative_to(root).as_posix(), label))
    if not found:
        raise DatasetError(f"{split_dir} holds no images; expected files ending in {', '.join(IMAGE_EXTENSIONS)}")
    return sorted(found)


def _hashed(root: Path, entries: list[tuple[str, int]]) -> list[Item]:
    return [Item(path, label, sha256_file(root / path)) for path, label in entries]


def build_splits(root: Path, val_fraction: float = 0.1) -> dict[str, list[Item]]:
    """The train, val and test items of a dataset; val is carved by hash when val/ is absent."""
    root = Path(root)
    if not (root / "train").is_dir():
        raise DatasetError(f"{root} has no train/ folder; a dataset needs train/REAL and train/FAKE")
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"val_fraction is {val_fraction}; it must be in [0, 1)")
    train = _hashed(root, list_split(root, "train"))
    if (root / "val").is_dir():
        val = _hashed(root, list_split(root, "val"))
    else:
        val = [item for item in train if is_validation(item.sha256, val_fraction)]
        train = [item for item in train if not is_validation(item.sha256, val_fraction)]
    test = _hashed(root, list_split(root, "test")) if (root / "test").is_dir() else []
    if not val:
        raise DatasetError(f"the validation split of {root} is empty; add val/ or raise --val-fraction " f"(now {val_fraction})")
    return {"train": train, "val": val, "test": test}


def read_dataset_info(root: Path) -> dict:
    """{"name", "version"} from dataset.json, defaulting to the folder name and null."""
    root = Path(root)
    info_path = root / "dataset.json"
    if not info_path.is_file():
        raise DatasetError(f"{root} has no dataset.json; the dataset contract requires one")
    try:
        info = json.loads(info_path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetError(f"{info_path} is not valid JSON: {error}") from error
    return {"name": str(info.get("name") or root.name), "version": info.get("version")}
