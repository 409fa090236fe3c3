"""A fused streaming step for the codec's transformer (LayerNorm, LayerScale, GELU, RoPE).

Why: a streamed codec frame gives each transformer two time steps, so every layer is four
matrix-vector products (at the memory floor) plus ~20 small ops whose fixed cost is as large as
the products. This step does the same arithmetic with fewer, cheaper ops:

* LayerScale folded into the output weights, and the residual add into the same ``addmm``;
* one q|k|v buffer per call that every layer's product writes into, with its views (complex
  pairs, the k|v half, q per head) made once per call, not per layer;
* RoPE as one in-place complex multiply over q, k *and* v (v rotated by 1 + 0i, which is
  exact), so keys and values enter the cache in one ``index_copy_``;
* attention as ``baddbmm`` (scores plus an additive mask) -> softmax -> ``bmm``: for two
  queries this is several times cheaper than the fused SDPA kernel's setup.

Rounding differs from the layer-by-layer path in the last bits (folded scales, another
summation order in attention); tests hold both to the batch model and the reference.

After ``quantize_int8`` (nn/int8.py) the four products read int8 rows instead (LayerScale
folded into their row scales): a quarter of the bytes, the codec's share of an end-to-end
frame being bound by reading them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.nn.conv_stream import DerivedWeight
from antiphon.nn.int8 import Int8Linear, Int8Rows
from antiphon.nn.kv_cache import KVCacheState
from antiphon.nn.norms import LayerScale
from antiphon.nn.rope import rope_rotation


def _fold_scale(weight: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``[out, in]`` weight times a per-output LayerScale."""
    return weight * scale[:, None]


@dataclass
class _LayerPlan:
    """One layer's modules, typed, and its folded output weights cached per version."""

    norm1: nn.LayerNorm
    norm2: nn.LayerNorm
    scale1: LayerScale | None
    scale2: LayerScale | None
    # the four products (q|k|v, attention out, FFN in, FFN out): float Linears, or after
    # quantize_int8 their int8 rows with LayerScale folded in; exactly one is set
    linears: tuple[nn.Linear, nn.Linear, nn.Linear, nn.Linear] | None
    int8: tuple[Int8Rows, Int8Rows, Int8Rows, Int8Rows] | None
    out_scaled: DerivedWeight
    ffn_out_scaled: DerivedWeight

    @classmethod
    def of(cls, layer: nn.Module) -> _LayerPlan | None:
        """The plan, or None for a layer the fused step does not cover (RMS norm, biases,
        float and int8 products mixed)."""
        n1, n2 = layer.get_submodule("norm1"), layer.get_submodule("norm2")
        if not (isinstance(n1, nn.LayerNorm) and isinstance(n2, nn.LayerNorm)):
            return None
        names = ("self_attn.in_projs.0", "self_attn.out_projs.0", "linear1", "linear2")
        mods = [layer.get_submodule(n) for n in names]
        s1, s2 = layer.get_submodule("layer_scale_1"), layer.get_submodule("layer_scale_2")
        ls1 = s1 if isinstance(s1, LayerScale) else None
        ls2 = s2 if isinstance(s2, LayerScale) else None
        folds = (DerivedWeight(_fold_scale), DerivedWeight(_fold_scale))
        floats = [m for m in mods if isinstance(m, nn.Linear)]
        if len(floats) == 4 and all(m.bias is None for m in floats):
            q, o, l1, l2 = floats
            return cls(n1, n2, ls1, ls2, (q, o, l1, l2), None, *folds)
        int8s = [m for m in mods if isinstance(m, Int8Linear)]
        if len(int8s) == 4 and all(m.bias is None for m in int8s):
            q8, o8, f1, f2 = int8s
            int8 = (
                Int8Rows.of_linear(q8),
                Int8Rows.of_linear(o8, None if ls1 is None else ls1.scale),
                Int8Rows.of_linear(f1),
                Int8Rows.of_linear(f2, None if ls2 is None else ls2.scale),
            )
            return cls(n1, n2, ls1, ls2, None, int8, *folds)
        return None

    def step_weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[in, out]`` views of the four products' weights (LayerScale folded), for
        ``rows @ w``: the same MKL call ``F.linear`` makes, without its per-call ``t()``.
        Float plans only (an int8 plan's products are ``int8``)."""
        assert self.linears is not None
        q, o, l1, f = (m.weight for m in self.linears)
        if self.scale1 is not None:
            o = self.out_scaled.get(o, self.scale1.scale)
        if self.scale2 is not None:
            f = self.ffn_out_scaled.get(f, self.scale2.scale)
        return q.t(), o.t(), l1.t(), f.t()


class LeanStep:
    """Runs ``StreamingTransformer`` streaming steps through the fused path."""

    def __init__(
        self, plans: list[_LayerPlan], num_heads: int, rope_max_period: float | None
    ) -> None:
        self.plans = plans
        self.num_heads = num_heads
        self.rope_max_period = rope_max_period

    @classmethod
    def covering(
        cls, layers: nn.ModuleList, num_heads: int, rope_max_period: float | None
    ) -> LeanStep | None:
        """The fused step for these layers, or None when one of them is of another kind (those
        stacks keep the layer-by-layer path)."""
        plans = [_LayerPlan.of(ly) for ly in layers]
        if any(p is None for p in plans):
            return None
        return cls([p for p in plans if p is not None], num_heads, rope_max_period)

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
        # One q|k|v buffer for all layers, with its views made once: each layer's product
        # writes into it, RoPE rotates it in place, and the k|v half goes to the cache from it.
        qkv = x.new_empty(b, t, 3, h, hd)
        qkv_rows = qkv.view(b * t, 3 * dim)
        rotate = None  # (the buffer's (re, im) pairs, their rotation)
        if rot is not None:
            rotate = (torch.view_as_complex(qkv.view(b, t, 3, h, hd // 2, 2)), rot)
        kv_new = qkv[:, :, 1:].permute(2, 0, 3, 1, 4)  # [2, B, H, T, hd]
        q_heads = qkv[:, :, 0].transpose(1, 2)  # [B, H, T, hd]
        rows = x.reshape(b * t, dim)
        for p, cache in zip(self.plans, state.layers, strict=True):
            n1, n2 = p.norm1, p.norm2
            normed = torch.layer_norm(rows, (dim,), n1.weight, n1.bias, n1.eps)
            if p.int8 is not None:
                i_qkv, i_out, i_ffn1, i_ffn2 = p.int8
                qkv_rows.copy_(i_qkv.mm(normed))
            else:
                w_qkv, w_out, w_ffn1, w_ffn2 = p.step_weights()
                torch.mm(normed, w_qkv, out=qkv_rows)
            if rotate is not None:
                rotate[0].mul_(rotate[1])
            cache.joint.index_copy_(3, plan.slots, kv_new)
            keys_t, values = cache.attention_views
            q = q_heads.reshape(b * h, t, hd)  # a view when B == 1
            scores = torch.baddbmm(bias, q, keys_t, alpha=scale)
            attn = torch.bmm(torch.softmax(scores, dim=-1), values)  # [B*H, T, hd]
            attn = attn.view(b, h, t, hd).transpose(1, 2).reshape(b * t, dim)
            if p.int8 is not None:
                rows = rows + i_out.mm(attn)
                hidden = torch.layer_norm(rows, (dim,), n2.weight, n2.bias, n2.eps)
                rows = rows + i_ffn2.mm(F.gelu(i_ffn1.mm(hidden)))
                continue
            rows = torch.addmm(rows, attn, w_out)
            hidden = torch.layer_norm(rows, (dim,), n2.weight, n2.bias, n2.eps)
            rows = torch.addmm(rows, F.gelu(torch.mm(hidden, w_ffn1)), w_ffn2)
        return rows.view(b, t, dim)

    def _rotation(self, positions: torch.Tensor, hd: int) -> torch.Tensor | None:
        if self.rope_max_period is None:
            return None
        rot = rope_rotation(positions, hd, self.rope_max_period)  # [B, T, hd/2]
        keep = torch.ones_like(rot)  # values pass through the same multiply unchanged
        return torch.stack([rot, rot, keep], dim=2).unsqueeze(3)
