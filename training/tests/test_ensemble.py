import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from training import ensemble
from training.architectures import build_model
from training.checkpoint_io import load_model
from training.numpy_onnx import run_onnx
from training.onnx_export import export_onnx, torch_logits
from training.tests.conftest import tiny_argv, train_apart, write_dataset


def random_statistics(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial batch-norm statistics, so folding is exercised."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(n, generator=generator) - 0.5)
    return model.eval()


def member(seed: int, width: int = 8, size: int = 16) -> torch.nn.Module:
    torch.manual_seed(seed)
    return random_statistics(build_model("compact", size, width=width), seed)


def inputs(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(np.float32)


def test_folding_batch_norm_keeps_the_outputs():
    model = member(1)
    folded = ensemble.fold_batch_norm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = inputs(4)
    np.testing.assert_allclose(torch_logits(folded, x), torch_logits(model, x), atol=1e-5, rtol=1e-5)


def test_ensemble_is_the_mean_of_member_logits_over_both_mirror_images():
    members = [member(1), member(2, width=4)]
    x = inputs(3)
    mirrored = x[:, :, :, ::-1].copy()
    expected = sum(torch_logits(m, view) for m in members for view in (x, mirrored)) / 4
    model = ensemble.Ensemble(members, 16, flip=True)
    np.testing.assert_allclose(torch_logits(model, x), expected, atol=1e-5, rtol=1e-5)
    plain = ensemble.Ensemble(members, 16, flip=False)
    np.testing.assert_allclose(torch_logits(plain, x), sum(torch_logits(m, x) for m in members) / 2, atol=1e-5, rtol=1e-5)


def reflect_views(x: np.ndarray, flip: bool, shift: int) -> list[np.ndarray]:
    """The views an ensemble should average, built independently with NumPy's reflect padding."""
    bases = [x, x[:, :, :, ::-1]] if flip else [x]
    offsets = [(0, 0)] + ([(-shift, 0), (shift, 0), (0, -shift), (0, shift)] if shift else [])
    size = x.shape[-1]
    views = []
    for base in bases:
        padded = np.pad(base, ((0, 0), (0, 0), (shift, shift), (shift, shift)), mode="reflect")
        for dx, dy in offsets:
            views.append(np.ascontiguousarray(padded[:, :, shift + dy : shift + dy + size, shift + dx : shift + dx + size]))
    return views


@pytest.mark.parametrize("flip, shift, view_count", [(True, 1, 10), (False, 2, 5), (True, 0, 2)])
def test_shifted_views_are_the_image_moved_with_mirrored_edges(flip, shift, view_count):
    members = [member(1), member(2, width=4)]
    x = inputs(3)
    views = reflect_views(x, flip, shift)
    assert len(views) == view_count
    # A one-pixel move really changes what the members see.
    assert shift == 0 or not np.allclose(views[1], x)
    expected = sum(torch_logits(m, view) for m in members for view in views) / (len(members) * len(views))
    model = ensemble.Ensemble(members, 16, flip=flip, shift=shift).eval()
    assert model.view_count == view_count
    np.testing.assert_allclose(torch_logits(model, x), expected, atol=1e-5, rtol=1e-5)
    path = Path(tempfile.mkdtemp()) / "model.onnx"
    export_onnx(model, 16, path)
    np.testing.assert_allclose(run_onnx(onnx.load(str(path)), x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("shift, message", [(-1, "0 or more"), (16, "does not fit")])
def test_impossible_shifts_are_refused(shift, message):
    with pytest.raises(ValueError, match=message):
        ensemble.Ensemble([member(1)], 16, flip=False, shift=shift)


@pytest.mark.parametrize(
    "weights, dtype, max_share",
    [
        ("float16", onnx.TensorProto.FLOAT16, 0.6),
        ("int8", onnx.TensorProto.INT8, 0.35),
    ],
)
def test_weight_storage_shrinks_the_file_and_computes_the_same_numbers(tmp_path, weights, dtype, max_share):
    members = [ensemble.round_weights(ensemble.fold_batch_norm(member(seed)), weights) for seed in (1, 2)]
    model = ensemble.Ensemble(members, 16, flip=True).eval()
    path = tmp_path / "model.onnx"
    export_onnx(model, 16, path)
    before = path.stat().st_size
    storage = ensemble.store_weights(path, weights)
    assert storage[f"{weights}_tensors"] > 0
    assert path.stat().st_size < max_share * before
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    assert any(t.data_type == dtype for t in graph.graph.initializer)
    x = inputs(5)
    np.testing.assert_allclose(run_onnx(graph, x), torch_logits(model, x), atol=1e-5, rtol=1e-5)


def test_int8_rounding_keeps_each_channel_close_to_the_original():
    model = ensemble.fold_batch_norm(member(4))
    original = {name: p.detach().clone() for name, p in model.named_parameters()}
    ensemble.round_weights(model, "int8")
    for name, parameter in model.named_parameters():
        if parameter.dim() < 2:
            assert torch.equal(parameter, original[name]), f"{name}: biases stay float32"
            continue
        step = ensemble.int8_scales(original[name])
        assert ((parameter - original[name]).abs() <= step / 2 + 1e-7).all(), name
        levels = parameter / ensemble.int8_scales(parameter)
        assert torch.allclose(levels, torch.round(levels), atol=1e-3), name


@pytest.mark.parametrize("weights", ["float16", "int8"])
def test_storage_leaves_weights_the_format_cannot_hold_exactly(tmp_path, weights):
    model = ensemble.fold_batch_norm(member(3))  # not rounded: the weights need float32
    path = tmp_path / "model.onnx"
    export_onnx(model, 16, path)
    storage = ensemble.store_weights(path, weights)
    assert storage["float16_tensors"] == storage["int8_tensors"] == 0
    x = inputs(2)
    np.testing.assert_allclose(run_onnx(onnx.load(str(path)), x), torch_logits(model, x), atol=1e-4, rtol=1e-4)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    dataset = write_dataset(root / "data", per_class=20, size=(40, 36))
    runs = []
    for index, width in enumerate((8, 4)):
        out = root / f"run{index}"
        argv = tiny_argv(dataset, out, width=width, threads=1, seed=40 + index)
        train_apart(argv)
        runs.append(out)
    return root, dataset, runs


@pytest.mark.parametrize("weights, shift", [("float16", 0), ("int8", 1)])
def test_cli_combines_runs_into_a_complete_run_folder(two_runs, capsys, weights, shift):
    root, _, runs = two_runs
    capsys.readouterr()
    out = root / f"ensemble-{weights}"
    assert (
        ensemble.main(
            ["--members", *map(str, runs), "--out", str(out), "--name", "tiny", "--flip", "--threads", "1", "--weights", weights, "--shift", str(shift)]
        )
        == 0
    )
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["start", "evaluate", "export", "done"]
    for name in (
        "model.onnx",
        "checkpoint.pt",
        "metadata.json",
        "split.json",
        "torch_eval.json",
        "training.json",
        "parity/inputs.f32",
        "parity/logits.f32",
        "parity/meta.json",
    ):
        assert (out / name).is_file(), name
    assert json.loads((out / "split.json").read_text()) == json.loads((runs[0] / "split.json").read_text())

    training = json.loads((out / "training.json").read_text())
    assert training["module"] == "training.ensemble"
    assert [m["run"] for m in training["members"]] == [str(r) for r in runs]
    assert training["args"]["members"] == [str(r) for r in runs] and training["args"]["flip"] is True
    assert training["args"]["weights"] == weights and training["weight_storage"][f"{weights}_tensors"] > 0
    assert training["args"]["shift"] == shift and training["views"] == (10 if shift else 2)
    member_params = [json.loads((r / "training.json").read_text())["params"] for r in runs]
    assert training["params"] < sum(member_params)  # batch norm folded away
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["architecture"] == "ensemble of 2 compact-cnn, mirror-averaged" + (", averaged over 1-pixel shifts" if shift else "")
    assert metadata["name"] == "tiny" and metadata["preprocessing"]["width"] == 24

    # The checkpoint rebuilds the exact model that produced the parity bundle.
    model, checkpoint = load_model(out / "checkpoint.pt")
    assert checkpoint["model_config"]["arch"] == "ensemble" and model.view_count == (10 if shift else 2)
    meta = json.loads((out / "parity" / "meta.json").read_text())
    parity_inputs = np.fromfile(out / "parity" / "inputs.f32", dtype="<f4").reshape(meta["input_shape"])
    parity_logits = np.fromfile(out / "parity" / "logits.f32", dtype="<f4").reshape(meta["output_shape"])
    np.testing.assert_allclose(torch_logits(model, parity_inputs), parity_logits, atol=1e-6)
    np.testing.assert_allclose(run_onnx(onnx.load(str(out / "model.onnx")), parity_inputs), parity_logits, atol=1e-4)


@pytest.mark.parametrize(
    "image_size, val_fraction, message",
    [
        ("24", "0.5", "different train/val/test split"),
        ("16", "0.3", "different input sizes"),
    ],
)
def test_members_that_do_not_match_are_refused(two_runs, tmp_path, image_size, val_fraction, message):
    _, dataset, runs = two_runs
    other = tmp_path / "other"
    train_apart(tiny_argv(dataset, other, image_size=image_size, width=4, max_steps=1, val_fraction=val_fraction, threads=1))
    with pytest.raises(ValueError, match=message):
        ensemble.combine([runs[0], other])


@pytest.mark.parametrize(
    "make_members, message",
    [
        (lambda runs, tmp: [runs[0]], "needs at least 2"),
        (lambda runs, tmp: [runs[0], tmp / "missing"], "has no checkpoint.pt"),
    ],
)
def test_bad_member_lists_are_refused_with_a_reason(two_runs, tmp_path, make_members, message):
    _, _, runs = two_runs
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        ensemble.combine(make_members(runs, tmp_path))


def test_cli_failure_ends_with_an_error_line(tmp_path, capsys):
    assert ensemble.main(["--members", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")]) == 1
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["event"] == "error" and "has no checkpoint.pt" in last["message"]


def test_pretraining_runs_are_followed_back_and_counted_once(tmp_path):
    def write_run(name, seconds, epochs, init_from=None):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "training.json").write_text(json.dumps({"seconds": seconds, "epochs_run": epochs, "args": {"init_from": init_from}}))
        return folder

    stage1 = write_run("stage1", 100.0, 10)
    stage2 = write_run("stage2", 50.0, 5, str(stage1 / "checkpoint.pt"))
    members = [
        {"args": {"init_from": str(stage2 / "checkpoint.pt")}},
        {"args": {"init_from": str(stage2 / "checkpoint.pt")}},
        {"args": {"init_from": str(stage1 / "checkpoint.pt")}},
        {"args": {"init_from": None}},
        {"args": {"init_from": str(tmp_path / "gone" / "checkpoint.pt")}},
    ]
    assert ensemble.pretraining_runs(members) == [
        {"run": str(stage2), "seconds": 50.0, "epochs_run": 5},
        {"run": str(stage1), "seconds": 100.0, "epochs_run": 10},
        {"run": str(tmp_path / "gone"), "seconds": None, "epochs_run": None},
    ]
