import json

import numpy as np
import pytest

from training import robustness, train
from training.tests.conftest import tiny_argv, train_apart, write_dataset

RUN_FILES = [
    "model.onnx",
    "checkpoint.pt",
    "metadata.json",
    "split.json",
    "torch_eval.json",
    "train_log.jsonl",
    "training.json",
    "parity/inputs.f32",
    "parity/logits.f32",
    "parity/meta.json",
]
METADATA_KEYS = [
    "schema_version",
    "name",
    "version",
    "created_at",
    "architecture",
    "parameters",
    "input",
    "output",
    "preprocessing",
    "labels",
    "threshold",
    "training",
]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    dataset = write_dataset(root / "data", per_class=20, size=(40, 36))
    out = root / "run"
    argv = tiny_argv(dataset, out, threads=1)
    return dataset, out, argv


def test_cli_writes_every_output(tiny_run, capsys):
    dataset, out, argv = tiny_run
    assert train.main(argv) == 0
    events = json_lines(capsys.readouterr().out)
    assert [e["event"] for e in events][0] == "start" and events[-1]["event"] == "done"
    assert {"step", "epoch", "export"} <= {e["event"] for e in events}
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    assert json_lines((out / "train_log.jsonl").read_text()) == events

    metadata = json.loads((out / "metadata.json").read_text())
    assert list(metadata) == METADATA_KEYS
    assert metadata["input"] == {"name": "input", "shape": [-1, 3, 24, 24], "dtype": "float32", "layout": "NCHW"}
    assert metadata["preprocessing"]["width"] == 24 and metadata["version"] is None
    assert metadata["labels"] == ["real", "ai_generated"] and metadata["output"]["ai_index"] == 1

    split = json.loads((out / "split.json").read_text())
    assert len(split["train"]) + len(split["val"]) == 40 and split["test"] == []
    evaluation = json.loads((out / "torch_eval.json").read_text())
    assert evaluation["val"]["n"] == len(split["val"]) == len(evaluation["val"]["probabilities"])

    meta = json.loads((out / "parity" / "meta.json").read_text())
    n = meta["n"]
    assert meta["input_shape"] == [n, 3, 24, 24] and n == min(256, len(split["val"]))
    assert np.fromfile(out / "parity" / "inputs.f32", dtype="<f4").size == n * 3 * 24 * 24
    logits = np.fromfile(out / "parity" / "logits.f32", dtype="<f4").reshape(n, 2)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax[:, 1], evaluation["val"]["probabilities"][:n], atol=1e-5)

    training = json.loads((out / "training.json").read_text())
    assert training["arch"] == "compact-cnn" and training["image_size"] == 24
    assert training["dataset"] == {"name": "tiny", "version": "t1"}
    export = next(e for e in events if e["event"] == "export")
    assert export["reference_parity"]["max_abs_diff"] < 1e-3


def test_same_seed_gives_same_split_and_weights(tiny_run, tmp_path, capsys):
    dataset, out, argv = tiny_run
    again = tmp_path / "again"
    assert train.main([*argv[:2], *argv[2:3], str(again), *argv[4:]]) == 0
    capsys.readouterr()
    assert (again / "split.json").read_text() == (out / "split.json").read_text()
    first = json.loads((out / "torch_eval.json").read_text())["val"]["probabilities"]
    second = json.loads((again / "torch_eval.json").read_text())["val"]["probabilities"]
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_robustness_report(tiny_run, capsys):
    dataset, out, argv = tiny_run
    if not (out / "checkpoint.pt").exists():
        assert train.main(argv) == 0
    assert robustness.main([str(out), "--threads", "1"]) == 0
    report = json.loads((out / "robustness.json").read_text())
    assert {"clean_accuracy", "jpeg75_accuracy", "drop_points"} <= set(report)
    assert report["drop_points"] == pytest.approx(100 * (report["clean_accuracy"] - report["jpeg75_accuracy"]))


def test_init_from_checkpoint_at_another_size(tiny_run, tmp_path, capsys):
    dataset, out, argv = tiny_run
    if not (out / "checkpoint.pt").exists():
        assert train.main(argv) == 0
    bigger = tmp_path / "bigger"
    args = tiny_argv(dataset, bigger, image_size=72, max_steps=1, threads=1, init_from=out / "checkpoint.pt")
    assert train.main(args) == 0
    assert json.loads((bigger / "metadata.json").read_text())["input"]["shape"] == [-1, 3, 72, 72]


def test_bad_dataset_ends_with_an_error_event(tmp_path, capsys):
    code = train.main(["--dataset", str(tmp_path / "missing"), "--out", str(tmp_path / "run")])
    assert code == 1
    events = json_lines(capsys.readouterr().out)
    assert events[-1]["event"] == "error" and "dataset.json" in events[-1]["message"]


def test_invalid_arguments_are_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--dataset", str(tmp_path), "--out", str(tmp_path / "r"), "--epochs", "0"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "--epochs is 0" in captured.err
    assert json_lines(captured.out) == [{"event": "error", "message": "--epochs is 0; it must be positive"}]


def test_a_model_with_narrow_convolutions_trains_and_exits_cleanly(tmp_path):
    """A compact model of width 4 has 4-channel convolutions, where Debian's torch 1.13 corrupts the
    heap in oneDNN's backward (the process aborted after every such training): the trainer turns
    oneDNN off for it, and the process ends with status 0 and a complete run folder."""
    dataset = write_dataset(tmp_path / "data", per_class=20, size=(40, 36))
    out = tmp_path / "narrow"
    train_apart(tiny_argv(dataset, out, width=4, threads=1))
    assert (out / "model.onnx").is_file() and (out / "metadata.json").is_file()
