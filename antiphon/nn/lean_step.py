"""A fused streaming step for the codec's transformer (LayerNorm, LayerScale, GELU, RoPE).

Why: a streamed codec frame gives each transformer two time steps, so every layer is four
matrix-vector products (at the memory floor) plus ~20 small ops whose fixed cost is as large as
the products. This step does the same arithmetic with fewer, cheaper ops:

* LayerScale folded into the output weights, and the residual add into the same ``addmm``;
* RoPE as one complex multiply over q, k *and* v (v rotated by 1 + 0i, which is exact), so
  keys and values leave in one tensor and enter the cache in one ``index_copy_``;
* attention as ``baddbmm`` (scores plus an additive mask) -> softmax -> ``bmm``: for two
  queries this is several times cheaper than the fused SDPA kernel's setup.

Rounding differs from the layer-by-layer path in the last bits (folded scales, another
summation order in attention); tests hold both to the batch model and the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.nn.conv_stream import DerivedWeight
from antiphon.nn.kv_cache import KVCacheState
from antiphon.nn.norms import LayerScale
from antiphon.nn.rope import rope_rotation


def _fold_scale(weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``[out, in]`` weight times a per-output LayerScale."""
    return weight * scale[:, None]


@dataclass
class _LayerPlan:
    """What one layer's fused step reads, with the folded weights cached per version."""

    layer: nn.Module
    out_scaled: DerivedWeight
    ffn_out_scaled: DerivedWeight

    def out_weight(self) -> torch.Tensor:
        w = self.layer.self_attn.out_projs[0].weight
        scale = self.layer.layer_scale_1
        return self.out_scaled.get(w, scale.scale) if isinstance(scale, LayerScale) else w

    def ffn_out_weight(self) -> torch.Tensor:
        w = self.layer.linear2.weight
        scale = self.layer.layer_scale_2
        return self.ffn_out_scaled.get(w, scale.scale) if isinstance(scale, LayerScale) else w


def lean_eligible(layers: nn.ModuleList) -> bool:
    """The fused step covers LayerNorm layers without linear biases (the codec's); others take
    the generic path."""
    linears = ("self_attn.in_projs.0", "self_attn.out_projs.0", "linear1", "linear2")
    return all(
        isinstance(ly.norm1, nn.LayerNorm)
        and isinstance(ly.norm2, nn.LayerNorm)
        and all(ly.get_submodule(name).bias is None for name in linears)
        for ly in layers
    )


class LeanStep:
    """Runs ``StreamingTransformer`` streaming steps through the fused path."""

    def __init__(self, layers: nn.ModuleList, num_heads: int, rope_max_period: float | None):
        self.plans = [
            _LayerPlan(ly, DerivedWeight(_fold_scale), DerivedWeight(_fold_scale)) for ly in layers
        ]
        self.num_heads = num_heads
        self.rope_max_period = rope_max_period

    def __call__(self, x: torch.Tensor, state: KVCacheState, context: int | None) -> torch.Tensor:
        b, t, dim = x.shape
        h = self.num_heads
        hd = dim // h
        rot = self._rotation(state.positions(t), hd)  # complex [B, T, 3, 1, hd/2] or None
        plan, mask = state.advance(t, context)  # mask bool [B, 1, T, cap]
        cap = mask.shape[-1]
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device)
        bias.masked_fill_(~mask, float("-inf"))
        bias = bias.expand(b, h, t, cap).reshape(b * h, t, cap) if b > 1 else bias.view(1, t, cap)
        scale = 1.0 / math.sqrt(hd)
        rows = x.reshape(b * t, dim)
        for p, cache in zip(self.plans, state.layers, strict=True):
            ly = p.layer
            n1, n2 = ly.norm1, ly.norm2
            hidden = F.layer_norm(rows, (dim,), n1.weight, n1.bias, n1.eps)
            qkv = F.linear(hidden, ly.self_attn.in_projs[0].weight).view(b, t, 3, h, hd)
            if rot is not None:
                pairs = torch.view_as_complex(qkv.view(b, t, 3, h, hd // 2, 2))
                qkv = torch.view_as_real(pairs * rot).view(b, t, 3, h, hd)
            cache.joint.index_copy_(3, plan.slots, qkv[:, :, 1:].permute(2, 0, 3, 1, 4))
            q = qkv[:, :, 0].transpose(1, 2).reshape(b * h, t, hd)
            keys = cache.joint[0].view(b * h, cap, hd)
            values = cache.joint[1].view(b * h, cap, hd)
            scores = torch.baddbmm(bias, q, keys.transpose(1, 2), alpha=scale)
            attn = torch.bmm(torch.softmax(scores, dim=-1), values)  # [B*H, T, hd]
            attn = attn.view(b, h, t, hd).transpose(1, 2).reshape(b * t, dim)
            rows = torch.addmm(rows, attn, p.out_weight().t())
            hidden = F.layer_norm(rows, (dim,), n2.weight, n2.bias, n2.eps)
            ffn = F.gelu(F.linear(hidden, ly.linear1.weight))
            rows = torch.addmm(rows, ffn, p.ffn_out_weight().t())
        return rows.view(b, t, dim)

    def _rotation(self, positions: torch.Tensor, hd: int) -> torch.Tensor | None:
        if self.rope_max_period is None:
            return None
        rot = rope_rotation(positions, hd, self.rope_max_period)  # [B, T, hd/2]
        keep = torch.ones_like(rot)  # values pass through the same multiply unchanged
        return torch.stack([rot, rot, keep], dim=2).unsqueeze(3)
