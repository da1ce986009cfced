import json
import shutil

import pytest

from training.dataset_files import DatasetError, build_splits, is_validation, list_split, read_dataset_info
from training.tests.conftest import write_dataset


@pytest.mark.parametrize(
    "sha, fraction, expected",
    [
        ("00000000" + "f" * 56, 0.1, True),  # 0 % 10000 = 0 < 1000
        ("000003e7" + "0" * 56, 0.1, True),  # 999
        ("000003e8" + "0" * 56, 0.1, False),  # 1000
        ("00002710" + "0" * 56, 0.1, True),  # 10000 % 10000 = 0
        ("000003e8" + "0" * 56, 0.0, False),
    ],
)
def test_is_validation_uses_first_eight_hex_digits(sha, fraction, expected):
    assert is_validation(sha, fraction) is expected


def test_split_is_deterministic_and_disjoint(tiny_dataset):
    first = build_splits(tiny_dataset, 0.3)
    second = build_splits(tiny_dataset, 0.3)
    assert first == second
    train_paths = {i.path for i in first["train"]}
    val_paths = {i.path for i in first["val"]}
    assert not train_paths & val_paths
    assert len(train_paths) + len(val_paths) == 24
    assert first["test"] == []
    assert all(i.label == (1 if "/FAKE/" in i.path else 0) for i in first["train"] + first["val"])


def test_byte_identical_files_share_a_split(tiny_dataset):
    sources = sorted((tiny_dataset / "train" / "FAKE").iterdir())
    for index, source in enumerate(sources):
        shutil.copy(source, tiny_dataset / "train" / "REAL" / f"copy {index}.jpg")
    splits = build_splits(tiny_dataset, 0.5)
    split_of = {}
    for name in ("train", "val"):
        for item in splits[name]:
            split_of.setdefault(item.sha256, set()).add(name)
    assert all(len(names) == 1 for names in split_of.values())
    assert any(len(splits[name]) for name in ("train", "val"))


def test_given_val_folder_is_used_as_is(tmp_path):
    root = write_dataset(tmp_path / "ds", per_class=3, with_val=True)
    splits = build_splits(root, 0.5)
    assert len(splits["train"]) == 6 and len(splits["val"]) == 6
    assert all(i.path.startswith("val/") for i in splits["val"])


def test_listing_skips_other_files_and_sorts(tiny_dataset):
    (tiny_dataset / "train" / "REAL" / "notes.txt").write_text("x")
    paths = [p for p, _ in list_split(tiny_dataset, "train")]
    assert paths == sorted(paths) and not any(p.endswith(".txt") for p in paths)


def test_missing_class_folder_is_named(tiny_dataset):
    shutil.rmtree(tiny_dataset / "train" / "FAKE")
    with pytest.raises(DatasetError, match="FAKE"):
        build_splits(tiny_dataset)


def test_missing_train_and_dataset_json(tmp_path):
    with pytest.raises(DatasetError, match="train/"):
        build_splits(tmp_path)
    with pytest.raises(DatasetError, match="dataset.json"):
        read_dataset_info(tmp_path)


def test_dataset_info(tiny_dataset):
    assert read_dataset_info(tiny_dataset) == {"name": "tiny", "version": "t1"}
    (tiny_dataset / "dataset.json").write_text(json.dumps({}))
    assert read_dataset_info(tiny_dataset) == {"name": "tiny", "version": None}
