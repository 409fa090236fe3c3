"""Weight-only int8 products for CPU inference.

Each output row keeps int8 weights and one scale (symmetric, absmax / 127). The product
runs in PyTorch's int8-weight kernel (``_weight_int8pack_mm``) with bf16 activations, which
reads a quarter of the float32 bytes: a streamed step (the LM's, the codec transformer's)
is bound by reading its weights on a CPU, so this is where the speed comes from.
"""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn


class Int8Rows:
    """``rows @ weight.T`` with the weight as int8 rows and per-row scales."""

    def __init__(self, weight: torch.Tensor) -> None:
        """``weight`` is ``[out, in]``: each row is scaled to -127..127 on its own."""
        if weight.shape[1] % 16:
            raise ValueError(f"int8 kernel needs in_features % 16 == 0, got {weight.shape[1]}")
        w = weight.detach().float()
        scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        self.q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
        self.scale = scale.to(torch.bfloat16)

    @classmethod
    def of_linear(cls, linear: Int8Linear, row_scale: torch.Tensor | None = None) -> Int8Rows:
        """The rows an ``Int8Linear`` holds (not quantized again), ``row_scale`` folded into
        their scales."""
        rows = cls.__new__(cls)
        rows.q = linear.weight_int8
        scale = linear.scale.float()
        if row_scale is not None:
            scale = scale * row_scale.detach().float()
        rows.scale = scale.to(torch.bfloat16)
        return rows

    def mm(self, rows: torch.Tensor) -> torch.Tensor:
        """``[M, in]`` rows (any float dtype) -> ``[M, out]`` in their dtype."""
        return int8_mm(rows, self.q, self.scale)


def int8_mm(rows: torch.Tensor, q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``[M, in]`` rows times int8 rows ``q`` ``[out, in]`` with bf16 row scales, in the rows'
    dtype. (The kernel needs its input contiguous; a streamed step's may be a transpose.)"""
    out = torch._weight_int8pack_mm(rows.to(torch.bfloat16).contiguous(), q, scale)
    return out.to(rows.dtype)


class Int8Linear(nn.Module):
    """``nn.Linear`` with int8 weight rows (see ``Int8Rows``); the bias stays float."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        rows = Int8Rows(linear.weight)
        self.in_features: int = linear.in_features
        self.out_features: int = linear.out_features
        self.weight_int8: torch.Tensor
        self.scale: torch.Tensor
        self.register_buffer("weight_int8", rows.q)
        self.register_buffer("scale", rows.scale)
        # q/k/v biases of text-LLM backbones stay float, added after the int8 product
        self.bias: torch.Tensor | None
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y = int8_mm(x.reshape(-1, shape[-1]), self.weight_int8, self.scale)
        if self.bias is not None:
            y = y + self.bias.to(x.dtype)
        return y.view(*shape[:-1], self.out_features)


M = TypeVar("M", bound=nn.Module)


def quantize_int8(model: M) -> M:
    """Replace every ``nn.Linear`` below ``model`` by an ``Int8Linear`` (in place). The kernel
    needs an input width that is a multiple of 16 (others crash or give NaN in PyTorch
    2.13), so narrower odd-sized layers, found only in toy configurations, stay float.
    Modules that fuse their layers' products (the codec transformer's streaming step) are
    told to rebuild from the swapped layers (``rebuild_fused``)."""
    _swap_linears(model)
    for m in model.modules():
        rebuild = getattr(m, "rebuild_fused", None)
        if callable(rebuild):
            rebuild()
    return model


def _swap_linears(model: nn.Module) -> None:
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear) and child.in_features % 16 == 0:
            setattr(model, name, Int8Linear(child))
        else:
            _swap_linears(child)
