"""Model builders. Every model maps N x 3 x S x S float32 to N x 2 logits (index 1 = AI-generated)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn

from .constants import ARCHITECTURES  # models/shared-constants.json

ARCHITECTURE_NAMES = {  # name written to metadata.json
    "compact": "compact-cnn",
    "efficientnet_b0": "efficientnet_b0",
    "mobilenet_v3_small": "mobilenet_v3_small",
    "mobilenet_v3_large": "mobilenet_v3_large",
}
NUM_CLASSES = 2


class BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def default_stem_stride(image_size: int) -> int:
    """Brings the first stage to roughly 32-64 pixels whatever the input size."""
    if image_size <= 64:
        return 1
    if image_size <= 128:
        return 2
    return 4


class CompactCNN(nn.Module):
    """Small fully convolutional residual network with global average pooling.

    The weights do not depend on the input size, so a model trained at 32 x 32 can initialise
    one at 128 x 128; stem_stride only changes how early the image is downsampled.
    """

    def __init__(
        self,
        widths: Sequence[int] = (32, 64, 128, 256),
        blocks: Sequence[int] = (1, 1, 1, 1),
        stem_stride: int = 1,
        dropout: float = 0.1,
    ):
        super().__init__()
        if len(widths) != len(blocks):
            raise ValueError(f"widths {tuple(widths)} and blocks {tuple(blocks)} need the same length")
        stem_layers: list[nn.Module] = [
            nn.Conv2d(3, widths[0], 3, 2 if stem_stride > 1 else 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        if stem_stride == 4:
            stem_layers.append(nn.MaxPool2d(2))
        elif stem_stride not in (1, 2):
            raise ValueError(f"stem_stride is {stem_stride}; it must be 1, 2 or 4")
        self.stem = nn.Sequential(*stem_layers)
        layers: list[nn.Module] = []
        in_ch = widths[0]
        for stage, (width, count) in enumerate(zip(widths, blocks)):
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(BasicBlock(in_ch, width, stride))
                in_ch = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(in_ch, NUM_CLASSES)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        for module in self.modules():  # residual branches start near identity
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.stem(x))
        return self.classifier(self.dropout(torch.flatten(self.pool(x), 1)))


def compact_widths(width: int, stages: int) -> tuple[int, ...]:
    return tuple(width * 2**i for i in range(stages))


def _replace_head(model: nn.Module) -> None:
    last = model.classifier[-1]
    model.classifier[-1] = nn.Linear(last.in_features, NUM_CLASSES)


def _set_bn_momentum(model: nn.Module, momentum: float) -> None:
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = momentum


def build_torchvision(arch: str, pretrained_path: Optional[Path] = None) -> nn.Module:
    """A torchvision model with a 2-class head; ImageNet weights only from a local file."""
    import torchvision.models as tvm

    factory = getattr(tvm, arch)
    if pretrained_path is None:
        model = factory(weights=None, num_classes=NUM_CLASSES)
    else:
        model = factory(weights=None)
        state = torch.load(pretrained_path, map_location="cpu")
        model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
        _replace_head(model)
    # torchvision's MobileNetV3 uses momentum 0.01, which leaves running statistics far from
    # the weights after short runs; 0.1 keeps evaluation honest.
    _set_bn_momentum(model, 0.1)
    return model


def build_model(
    arch: str,
    image_size: int,
    width: int = 32,
    depth: int = 1,
    stages: int = 4,
    stem_stride: Optional[int] = None,
    dropout: float = 0.1,
    pretrained_path: Optional[Path] = None,
) -> nn.Module:
    if arch == "compact":
        return CompactCNN(
            widths=compact_widths(width, stages),
            blocks=(depth,) * stages,
            stem_stride=default_stem_stride(image_size) if stem_stride is None else stem_stride,
            dropout=dropout,
        )
    if arch in ARCHITECTURES:
        return build_torchvision(arch, pretrained_path)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_matching_weights(model: nn.Module, state: dict) -> tuple[int, int]:
    """Copies every tensor whose name and shape match; returns (copied, skipped)."""
    own = model.state_dict()
    matching = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    own.update(matching)
    model.load_state_dict(own)
    return len(matching), len(state) - len(matching)
