"""Saves and restores checkpoint.pt, one format for every trainer: the weights plus the
`model_config` that rebuilds the model (an architecture of architectures.py, an ensemble, or the
patch detector, arch "patchnet"), and whatever the trainer adds beside them."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .architectures import build_model
from .ensemble_model import build_ensemble
from .patches import PatchNet


def save_checkpoint(path: Path, model: nn.Module, model_config: dict, extra: dict) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save({"model_config": model_config, "state_dict": state, **extra}, path)


def read_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    checkpoint = torch.load(path, map_location="cpu")
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not a checkpoint written by training.train (no state_dict)")
    return checkpoint


def load_model(path: Path) -> tuple[nn.Module, dict]:
    """(model in eval mode, checkpoint dict) from a checkpoint.pt."""
    checkpoint = read_checkpoint(path)
    config = dict(checkpoint["model_config"])
    config.pop("pretrained_path", None)
    if config.get("arch") == "patchnet":
        model = PatchNet(config["representation"], config["width"])
    elif config.get("arch") == "ensemble":
        model = build_ensemble(config["members"], config["image_size"], config["flip"], config.get("shift", 0))
    else:
        model = build_model(**config)
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return model, checkpoint
