"""Building blocks of the Moshi LM transformers, with the reference's key names.

* ``RMSNormF32``: RMS norm computed in float32 (``alpha`` gain ``[1, 1, dim]``), so a bf16
  model normalises exactly like the float32 one.
* ``Gating``: SiLU-gated FFN (``linear_in`` → 2 halves: gate, up; ``linear_out``), no biases.
* ``ZeroEmbedding``: embedding where token -1 (the "zero" token) embeds to exactly 0.
* ``StepLinears``: a list of linears, one per depth step (``weights_per_step``) or one shared.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ZERO_TOKEN = -1  # embeds to exactly 0: "no input on this stream"
UNGENERATED = -2  # a slot that is still to be sampled


class RMSNormF32(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps
        self.alpha = nn.Parameter(torch.ones(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # one fused kernel; equals x * alpha * rsqrt(eps + mean(x^2)) to float32 rounding
        out = F.rms_norm(x.float(), (x.shape[-1],), self.alpha.view(-1).float(), self.eps)
        return out.to(x.dtype)


def gating_hidden(dim: int, dim_feedforward: int) -> int:
    """Hidden width of the gated FFN, exactly as the released models size it."""
    if dim_feedforward == 4 * dim:
        return (21 * dim) // 8
    return (2 * dim_feedforward) // 3


class Gating(nn.Module):
    def __init__(self, dim: int, dim_feedforward: int, hidden: int | None = None) -> None:
        super().__init__()
        # ``hidden`` overrides the released sizing rule (text-LLM backbones: Qwen2's 4864)
        hidden = gating_hidden(dim, dim_feedforward) if hidden is None else hidden
        self.linear_in = nn.Linear(dim, 2 * hidden, bias=False)
        self.linear_out = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear_in(x)
        h = h.view(*h.shape[:-1], 2, -1)
        return self.linear_out(F.silu(h[..., 0, :]) * h[..., 1, :])


class ZeroEmbedding(nn.Embedding):
    """``nn.Embedding`` where ``ZERO_TOKEN`` gives an all-zero vector (no gradient)."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        y = super().forward(tokens.clamp(min=0))
        return y.masked_fill((tokens == ZERO_TOKEN).unsqueeze(-1), 0.0)


def apply_per_step(modules: nn.ModuleList, x: torch.Tensor, first_step: int) -> torch.Tensor:
    """Apply ``modules[first_step + t]`` to ``x[:, t]`` (one module when weights are shared)."""
    if len(modules) == 1:
        return modules[0](x)
    t = x.shape[1]
    if t == 1:
        return modules[first_step](x)
    return torch.cat([modules[first_step + i](x[:, i : i + 1]) for i in range(t)], dim=1)
