"""The module an ensemble checkpoint is made of: members with batch norm folded into their
convolutions, and the mean of their logits over every view of the input (the image, its mirror,
shifted copies). Separate from training/ensemble.py (which builds, evaluates and exports
ensembles) so that training/checkpoint_io.py can rebuild one without importing the builder."""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from .architectures import NUM_CLASSES, BasicBlock, CompactCNN, build_model


def shift_index(size: int, offset: int) -> torch.Tensor:
    """Indices that move an axis by `offset` pixels (new[i] = old[i + offset]), mirrored at the edges
    the way reflect padding is, so no view sees a border that the training images never had."""
    if abs(offset) >= size:
        raise ValueError(f"a shift of {offset} pixels does not fit an axis of {size}")
    index = torch.arange(size) + offset
    index = torch.where(index < 0, -index, index)
    return torch.where(index > size - 1, 2 * (size - 1) - index, index)


def view_indices(image_size: int, flip: bool, shift: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(rows, columns) gather indices of every view: the image, and with flip its mirror image;
    with shift, each of those also moved by `shift` pixels left, right, up and down."""
    if shift < 0:
        raise ValueError(f"shift is {shift}; it must be 0 or more pixels")
    identity = torch.arange(image_size)
    bases = [identity, torch.arange(image_size - 1, -1, -1)] if flip else [identity]
    offsets = [(0, 0)] + ([(-shift, 0), (shift, 0), (0, -shift), (0, shift)] if shift else [])
    return [(shift_index(image_size, dy), base[shift_index(image_size, dx)]) for base in bases for dx, dy in offsets]


class Ensemble(nn.Module):
    """Mean of member logits over every view of the input (view_indices).

    The views are stacked into one batch, so each member runs once per request however many
    views there are.
    """

    def __init__(self, members: Sequence[nn.Module], image_size: int, flip: bool, shift: int = 0):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        views = view_indices(image_size, flip, shift)
        self.view_count = len(views)
        identity = torch.arange(image_size)
        self.gathers = [(not torch.equal(rows, identity), not torch.equal(cols, identity)) for rows, cols in views]
        self.register_buffer("view_rows", torch.stack([rows for rows, _ in views]), persistent=False)
        self.register_buffer("view_cols", torch.stack([cols for _, cols in views]), persistent=False)

    def _view(self, x: torch.Tensor, index: int) -> torch.Tensor:
        gather_rows, gather_cols = self.gathers[index]
        if gather_rows:
            x = x.index_select(2, self.view_rows[index])
        if gather_cols:
            x = x.index_select(3, self.view_cols[index])
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stacked = x if self.view_count == 1 else torch.cat([self._view(x, k) for k in range(self.view_count)])
        total = None
        for member in self.members:
            logits = member(stacked)
            total = logits if total is None else total + logits
        if self.view_count > 1:  # ReduceMean keeps its axes as an attribute, so the output stays [batch, 2]
            total = total.reshape(self.view_count, -1, NUM_CLASSES).mean(0)
        return total * (1.0 / len(self.members))


def fold_batch_norm(model: nn.Module) -> nn.Module:
    """A copy of a CompactCNN in eval mode with every BatchNorm folded into its convolution."""
    if not isinstance(model, CompactCNN):
        raise ValueError(f"only compact-cnn members can be folded, not {type(model).__name__}")
    folded = copy.deepcopy(model).to(memory_format=torch.contiguous_format).eval()
    pairs = [["stem.0", "stem.1"]]
    for name, module in folded.named_modules():
        if isinstance(module, BasicBlock):
            pairs += [[f"{name}.conv1", f"{name}.bn1"], [f"{name}.conv2", f"{name}.bn2"]]
            if isinstance(module.shortcut, nn.Sequential):
                pairs.append([f"{name}.shortcut.0", f"{name}.shortcut.1"])
    return torch.ao.quantization.fuse_modules(folded, pairs)


def build_ensemble(member_configs: Sequence[dict], image_size: int, flip: bool, shift: int = 0) -> Ensemble:
    """The module structure of a saved ensemble checkpoint (folded members), weights not loaded."""
    members = []
    for config in member_configs:
        config = {k: v for k, v in config.items() if k != "pretrained_path"}
        members.append(fold_batch_norm(build_model(**config).eval()))
    return Ensemble(members, image_size, flip, shift).eval()
