"""Normalisation layers shared by the codec and the LM transformers."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

NormKind = Literal["layer_norm", "rms_norm"]


class LayerScale(nn.Module):
    """Per-channel learnt scale on a residual branch (Touvron et al. 2021), channels last."""

    def __init__(self, channels: int, init: float = 1e-4) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


class RMSNorm(nn.Module):
    """RMS norm with a ``[1, 1, dim]`` gain named ``alpha`` (the Moshi LM's layout)."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.alpha = nn.Parameter(torch.ones(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var = self.eps + torch.mean(x * x, dim=-1, keepdim=True)
        return x * (self.alpha.to(var) * torch.rsqrt(var))


def make_norm(kind: NormKind, dim: int) -> nn.Module:
    if kind == "layer_norm":
        return nn.LayerNorm(dim, eps=1e-5)
    if kind == "rms_norm":
        return RMSNorm(dim, eps=1e-5)
    raise ValueError(f"unknown norm {kind!r} (expected 'layer_norm' or 'rms_norm')")
