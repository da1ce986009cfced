"""The run files the pipeline reads are checked against the same JSON Schemas on both sides."""

import json

import pytest

from training.constants import ARCHITECTURES, IMAGE_EXTENSIONS, MODELS_DIR, SPLIT_MODULUS
from training.dataset_files import is_validation
from training.run_files import ParityMeta, RunFileError, SplitMetrics, TrainingRecord, check_run_file, write_run_file


def test_shared_constants_are_the_ones_the_trainer_uses():
    shared = json.loads((MODELS_DIR / "shared-constants.json").read_text())
    assert ARCHITECTURES == tuple(shared["architectures"])
    assert IMAGE_EXTENSIONS == tuple(shared["image_extensions"])
    assert SPLIT_MODULUS == shared["validation_split"]["modulus"]
    # The rule in words: the first 8 hex digits modulo 10000, against the fraction.
    assert is_validation("00000000" + "0" * 56, 0.1)
    assert not is_validation(f"{1000:08x}" + "0" * 56, 0.1)
    assert is_validation(f"{1000:08x}" + "0" * 56, 0.1000001)


def test_records_write_what_the_schemas_accept(tmp_path):
    write_run_file(tmp_path, "parity/meta.json", ParityMeta(n=4, input_shape=[4, 3, 32, 32], output_shape=[4, 2]))
    write_run_file(tmp_path, "torch_eval.json", {"val": SplitMetrics(0.5, 0.5, 0.5, 0.5, None, 2, [0.1, 0.9]).to_json()})
    record = TrainingRecord(
        seconds=1.0,
        epochs_run=1,
        best_epoch=1,
        images_per_s=10.0,
        arch="compact-cnn",
        params=100,
        image_size=32,
        args={"seed": 1},
        torch_version="1.13",
        dataset={},
        onnx_opset=17,
        onnx_bytes=10,
    )
    write_run_file(tmp_path, "training.json", record)
    written = json.loads((tmp_path / "training.json").read_text())
    assert "module" not in written and written["params"] == 100
    assert json.loads((tmp_path / "parity" / "meta.json").read_text()) == {"n": 4, "input_shape": [4, 3, 32, 32], "output_shape": [4, 2]}


@pytest.mark.parametrize(
    "name, value, problem",
    [
        ("split.json", {"train": [], "val": []}, "non-empty|too short"),
        ("split.json", {"train": [], "val": [{"path": "/etc/passwd", "label": 0, "sha256": "0" * 64}]}, "does not match"),
        ("split.json", {"train": [], "val": [{"path": "a.jpg", "label": 2, "sha256": "0" * 64}]}, "is not one of"),
        ("torch_eval.json", {"val": {"accuracy": 2}}, "is a required property"),
        ("parity/meta.json", {"n": 0, "input_shape": [1], "output_shape": [1, 2]}, "less than the minimum"),
        ("training.json", {"seconds": -1}, "is a required property"),
    ],
)
def test_a_record_that_breaks_the_contract_is_not_written(tmp_path, name, value, problem):
    with pytest.raises(RunFileError, match=problem):
        write_run_file(tmp_path, name, value)
    assert not (tmp_path / name).exists()


def test_check_names_the_schema():
    with pytest.raises(RunFileError, match=r"models/run-split.schema.json"):
        check_run_file("split.json", {})
