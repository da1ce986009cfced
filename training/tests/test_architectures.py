import pytest
import torch

from training.architectures import ARCHITECTURES, CompactCNN, build_model, count_parameters, default_stem_stride, load_matching_weights


@pytest.mark.parametrize("arch, size", [(a, 32 if a == "compact" else 64) for a in ARCHITECTURES])
def test_every_architecture_outputs_two_logits(arch, size):
    torch.manual_seed(0)
    model = build_model(arch, size).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 2)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("size, stride", [(32, 1), (64, 1), (96, 2), (128, 2), (160, 4), (224, 4)])
def test_compact_stem_stride_by_size(size, stride):
    assert default_stem_stride(size) == stride
    model = build_model("compact", size, width=8).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, size, size)).shape == (1, 2)


def test_compact_weights_transfer_across_input_sizes():
    small = build_model("compact", 32, width=8)
    large = build_model("compact", 128, width=8)
    copied, skipped = load_matching_weights(large, small.state_dict())
    assert skipped == 0 and copied == len(small.state_dict())
    assert torch.equal(large.classifier.weight, small.classifier.weight)


def test_compact_default_stays_small():
    params = count_parameters(build_model("compact", 32, width=24))
    assert 300_000 <= params <= 1_500_000


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_model("resnet", 32)
    with pytest.raises(ValueError, match="stem_stride is 3"):
        CompactCNN(stem_stride=3)


def test_mobilenet_batch_norm_momentum_is_raised():
    model = build_model("mobilenet_v3_small", 64)
    momenta = {m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert momenta == {0.1}
