"""Autoencoders whose reconstructions of real photos are the aligned fakes.

An aligned fake is a real photo passed through a latent-diffusion style autoencoder (encode →
decode): its content, size and format are the photo's, and what differs is the decoder's traces
(how it makes up the high frequencies it did not keep). A detector trained on such pairs cannot
learn which collection a photo came from, only how generated pixels are made.

Two kinds:
- `Taef2`: the pretrained tiny autoencoder of the FLUX.2 latent space (TAEF2, © 2023 Ollin Boer
  Bohan, MIT; weights and attribution in the folder given by --taef2, architecture in its README):
  a 32-channel latent at 1/8 resolution, decoded by repeated nearest 2× upsampling + convolutions.
- `SmallAutoencoder`: families trained here on the real training photos
  (training/train_autoencoder.py) to diversify the decoder traces: the decoder's upsampling is
  `nearest`, `bilinear` or `transposed` (a learned stride-2 transposed convolution), with a
  latent at 1/4 or 1/8 resolution.

Every model maps RGB in [0, 1], [N, 3, H, W] with H and W multiples of its `factor`, to RGB in
[0, 1] of the same size: `reconstruct` pads a photo by edge replication to that multiple and
crops the result back, so a reconstruction has exactly the photo's size (no resizing anywhere).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

UPSAMPLING = ("nearest", "bilinear", "transposed")


def _conv(cin: int, cout: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=bias)


class _Block(nn.Module):
    """Three 3×3 convolutions with ReLU between, the input added back, then ReLU; with `global_`,
    a 1×1 branch (c→4c, GroupNorm(4), ReLU, 4c→c) is added to the input first (TAEF2's "gn")."""

    def __init__(self, c: int, global_: bool = False):
        super().__init__()
        self.conv = nn.Sequential(_conv(c, c), nn.ReLU(), _conv(c, c), nn.ReLU(), _conv(c, c))
        self.pool = (
            nn.Sequential(nn.Conv2d(c, 4 * c, 1, bias=False), nn.GroupNorm(4, 4 * c), nn.ReLU(), nn.Conv2d(4 * c, c, 1, bias=False)) if global_ else None
        )
        self.skip = nn.Identity()
        self.fuse = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + self.skip(x))


class _Clamp(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


def taef2_encoder() -> nn.Sequential:
    c = 64
    return nn.Sequential(
        _conv(3, c),
        _Block(c),
        _conv(c, c, 2, bias=False),
        _Block(c),
        _Block(c),
        _Block(c),
        _conv(c, c, 2, bias=False),
        _Block(c),
        _Block(c),
        _Block(c),
        _conv(c, c, 2, bias=False),
        _Block(c, True),
        _Block(c, True),
        _Block(c, True),
        _conv(c, 32),
    )


def taef2_decoder() -> nn.Sequential:
    c = 64
    return nn.Sequential(
        _Clamp(),
        _conv(32, c),
        nn.ReLU(),
        _Block(c, True),
        _Block(c, True),
        _Block(c, True),
        nn.Upsample(scale_factor=2),
        _conv(c, c, bias=False),
        _Block(c),
        _Block(c),
        _Block(c),
        nn.Upsample(scale_factor=2),
        _conv(c, c, bias=False),
        _Block(c),
        _Block(c),
        _Block(c),
        nn.Upsample(scale_factor=2),
        _conv(c, c, bias=False),
        _Block(c),
        _conv(c, 3),
    )


class Autoencoder(nn.Module):
    """encode → decode; `factor` is the spatial reduction of the latent (a side must divide by it)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, factor: int, family: str):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.factor = factor
        self.family = family

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def load_taef2(folder: Path) -> Autoencoder:
    """TAEF2 from its two half-precision state dicts, as float32."""
    encoder, decoder = taef2_encoder(), taef2_decoder()
    for module, name in ((encoder, "taef2_encoder.pth"), (decoder, "taef2_decoder.pth")):
        state = torch.load(folder / name, map_location="cpu")
        module.load_state_dict({k: v.float() for k, v in state.items()})
    return Autoencoder(encoder, decoder, 8, "taef2").eval()


def small_autoencoder(upsampling: str, factor: int, width: int = 24, latent: int = 8) -> Autoencoder:
    """A small autoencoder of one decoder family: stride-2 convolutions down to 1/factor with
    `latent` channels, and back up with `upsampling` (nearest, bilinear or a learned transposed
    convolution), a convolution after each step."""
    if upsampling not in UPSAMPLING:
        raise ValueError(f"upsampling {upsampling!r}; expected one of {', '.join(UPSAMPLING)}")
    if factor not in (4, 8):
        raise ValueError(f"factor {factor}; expected 4 or 8")
    steps = {4: 2, 8: 3}[factor]
    down: list[nn.Module] = [_conv(3, width), nn.ReLU()]
    for _ in range(steps):
        down += [_conv(width, width, 2), nn.ReLU(), _conv(width, width), nn.ReLU()]
    down.append(_conv(width, latent))
    up: list[nn.Module] = [_conv(latent, width), nn.ReLU()]
    for _ in range(steps):
        if upsampling == "transposed":
            up += [nn.ConvTranspose2d(width, width, 4, 2, 1), nn.ReLU()]
        else:
            up += [
                nn.Upsample(scale_factor=2, mode=upsampling, **({"align_corners": False} if upsampling == "bilinear" else {})),
                _conv(width, width),
                nn.ReLU(),
            ]
        up += [_conv(width, width), nn.ReLU()]
    up.append(_conv(width, 3))
    return Autoencoder(nn.Sequential(*down), nn.Sequential(*up), factor, f"{upsampling}-x{factor}")


def reconstruct(model: Autoencoder, pixels: np.ndarray) -> np.ndarray:
    """The autoencoder's reconstruction of an [H, W, 3] uint8 photo, [H, W, 3] uint8 of the same size:
    edge-padded to a multiple of the model's factor, reconstructed, cropped back, rounded."""
    h, w = pixels.shape[:2]
    f = model.factor
    ph, pw = (-h) % f, (-w) % f
    padded = np.pad(pixels, ((0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else pixels
    x = torch.from_numpy(np.ascontiguousarray(padded)).permute(2, 0, 1)[None].float().div(255.0)
    with torch.no_grad():
        y = model(x.contiguous(memory_format=torch.channels_last))
    out = y[0, :, :h, :w].clamp(0.0, 1.0).mul(255.0).add(0.5).floor().byte().permute(1, 2, 0).contiguous().numpy()
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))
