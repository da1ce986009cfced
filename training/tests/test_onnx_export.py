import json

import numpy as np
import onnx
import pytest
import torch

from training.architectures import build_model
from training.numpy_onnx import run_onnx
from training.onnx_export import check_onnx, export_onnx, reference_parity, torch_logits, write_parity_bundle


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("compact", 24, width=8).eval()
    for module in model.modules():  # non-trivial batch-norm statistics, so folding is exercised
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export_onnx(model.to(memory_format=torch.channels_last), 24, path)
    return model, path


def test_graph_names_shapes_and_opset(exported):
    _, path = exported
    summary = check_onnx(path, 24)
    assert summary["input_shape"] == ["batch", 3, 24, 24]
    assert summary["output_shape"] == ["batch", 2]
    assert summary["opset"] >= 13


def test_check_rejects_wrong_size(exported):
    _, path = exported
    with pytest.raises(ValueError, match="expected \\[batch, 3, 32, 32\\]"):
        check_onnx(path, 32)


def test_numpy_evaluation_matches_torch(exported):
    model, path = exported
    inputs = np.random.default_rng(0).standard_normal((5, 3, 24, 24)).astype(np.float32)
    expected = torch_logits(model, inputs)
    np.testing.assert_allclose(run_onnx(onnx.load(str(path)), inputs), expected, atol=1e-4, rtol=1e-4)


def test_reference_evaluator_when_available(exported):
    model, path = exported
    inputs = np.random.default_rng(1).standard_normal((3, 3, 24, 24)).astype(np.float32)
    result = reference_parity(path, inputs, torch_logits(model, inputs))
    if result is None:
        pytest.skip("onnx.reference needs onnx >= 1.13")
    assert result["max_abs_diff"] < 1e-4


def test_parity_bundle_round_trips(tmp_path):
    inputs = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    logits = np.array([[1, -1], [0.5, 2]], dtype=np.float32)
    meta = write_parity_bundle(tmp_path / "parity", inputs, logits)
    assert meta == {"n": 2, "input_shape": [2, 3, 4, 4], "output_shape": [2, 2]}
    assert json.loads((tmp_path / "parity" / "meta.json").read_text()) == meta
    back = np.fromfile(tmp_path / "parity" / "inputs.f32", dtype="<f4").reshape(2, 3, 4, 4)
    assert np.array_equal(back, inputs)
    assert np.array_equal(np.fromfile(tmp_path / "parity" / "logits.f32", dtype="<f4").reshape(2, 2), logits)


@pytest.mark.parametrize("arch", ["mobilenet_v3_small", "efficientnet_b0"])
def test_torchvision_models_export_with_the_contract(arch, tmp_path):
    model = build_model(arch, 32).eval()
    path = tmp_path / "model.onnx"
    export_onnx(model, 32, path)
    summary = check_onnx(path, 32)
    assert summary["input_shape"] == ["batch", 3, 32, 32] and summary["output_shape"] == ["batch", 2]
    with pytest.raises(NotImplementedError, match="not supported by numpy_onnx"):
        run_onnx(onnx.load(str(path)), np.zeros((1, 3, 32, 32), dtype=np.float32))
