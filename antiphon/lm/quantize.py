"""Weight-only int8 quantization of the LM's linear layers, for CPU inference.

Each output row keeps int8 weights and one scale (symmetric, absmax / 127). The product
runs in PyTorch's int8-weight kernel (``_weight_int8pack_mm``) with bf16 activations, which
reads a quarter of the float32 bytes: the LM step is memory-bound on a CPU, so this is
where the speed comes from. Embeddings stay in float (a lookup reads one row).
"""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn


class Int8Linear(nn.Module):
    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        if linear.in_features % 16:
            raise ValueError(f"int8 kernel needs in_features % 16 == 0, got {linear.in_features}")
        w = linear.weight.detach().float()
        scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
        self.in_features: int = linear.in_features
        self.out_features: int = linear.out_features
        self.weight_int8: torch.Tensor
        self.scale: torch.Tensor
        self.register_buffer("weight_int8", q.contiguous())
        self.register_buffer("scale", scale.to(torch.bfloat16))
        # q/k/v biases of text-LLM backbones stay float, added after the int8 product
        self.bias: torch.Tensor | None
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1]).to(torch.bfloat16)
        y = torch._weight_int8pack_mm(flat, self.weight_int8, self.scale).to(x.dtype)
        if self.bias is not None:
            y = y + self.bias.to(x.dtype)
        return y.view(*shape[:-1], self.out_features)


M = TypeVar("M", bound=nn.Module)


def quantize_int8(model: M) -> M:
    """Replace every ``nn.Linear`` below ``model`` by an ``Int8Linear`` (in place). The kernel
    needs an input width that is a multiple of 16 (others crash or give NaN in PyTorch
    2.13), so narrower odd-sized layers, found only in toy configurations, stay float."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear) and child.in_features % 16 == 0:
            setattr(model, name, Int8Linear(child))
        else:
            quantize_int8(child)
    return model
