"""Causal streaming transformer (pre-norm, RoPE, LayerScale, bounded context).

Layout and key names follow the reference Moshi/Mimi transformer
(``layers.N.self_attn.in_projs.0.weight``, ``norm1``, ``linear1``, ``layer_scale_1.scale`` ...)
so released weights load unchanged. Batch mode applies a causal mask limited to ``context``
steps; streaming mode keeps a ring KV cache of ``context`` steps, exactly like the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.nn.kv_cache import KVCacheState, LayerKV, WritePlan, write_kv
from antiphon.nn.lean_step import LeanStep
from antiphon.nn.norms import LayerScale, NormKind, make_norm
from antiphon.nn.rope import apply_rope, rope_rotation
from antiphon.nn.streaming import StreamingModule


def causal_mask(length: int, context: int | None, device: torch.device) -> torch.Tensor:
    """Bool ``[T, T]``: query t sees keys t - context < s <= t."""
    pos = torch.arange(length, device=device)
    delta = pos.view(-1, 1) - pos.view(1, -1)
    ok = delta >= 0
    if context is not None:
        ok = ok & (delta < context)
    return ok


@dataclass
class StepContext:
    """What every layer of one call shares: rotary tables, mask, and KV write slots."""

    rotation: torch.Tensor | None  # complex [B, T, 1, 1, D/2] (RoPE), None without RoPE
    mask: torch.Tensor  # bool, broadcastable to [B, H, T, S]
    plan: WritePlan | None  # None in batch mode


class StreamingAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"d_model {dim} not divisible by {num_heads} heads")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        # Lists of one projection: the reference's layout (it allows weights per step).
        self.in_projs = nn.ModuleList([nn.Linear(dim, 3 * dim, bias=False)])
        self.out_projs = nn.ModuleList([nn.Linear(dim, dim, bias=False)])

    def forward(self, x: torch.Tensor, ctx: StepContext, cache: LayerKV | None) -> torch.Tensor:
        b, t, _ = x.shape
        qkv = self.in_projs[0](x).view(b, t, 3, self.num_heads, self.head_dim)
        qk = qkv[:, :, :2]
        if ctx.rotation is not None:  # rotate queries and keys in one go
            qk = apply_rope(qk, ctx.rotation)
        q, k = qk[:, :, 0].transpose(1, 2), qk[:, :, 1].transpose(1, 2)  # [B, H, T, D]
        v = qkv[:, :, 2].transpose(1, 2)
        if cache is not None and ctx.plan is not None:
            write_kv(cache, ctx.plan, k, v)
            k, v = cache.keys, cache.values
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=ctx.mask)
        return self.out_projs[0](out.transpose(1, 2).reshape(b, t, self.dim))


class TransformerLayer(nn.Module):
    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        norm: NormKind = "layer_norm",
        layer_scale: float | None = None,
    ) -> None:
        super().__init__()
        self.self_attn = StreamingAttention(d_model, num_heads)
        self.norm1 = make_norm(norm, d_model)
        self.norm2 = make_norm(norm, d_model)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=False)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=False)
        self.layer_scale_1: nn.Module
        self.layer_scale_2: nn.Module
        if layer_scale is None:
            self.layer_scale_1 = nn.Identity()
            self.layer_scale_2 = nn.Identity()
        else:
            self.layer_scale_1 = LayerScale(d_model, layer_scale)
            self.layer_scale_2 = LayerScale(d_model, layer_scale)

    def forward(
        self, x: torch.Tensor, ctx: StepContext, cache: LayerKV | None = None
    ) -> torch.Tensor:
        x = self._residual(x, self.layer_scale_1, self.self_attn(self.norm1(x), ctx, cache))
        update = self.linear2(F.gelu(self.linear1(self.norm2(x))))
        return self._residual(x, self.layer_scale_2, update)

    @staticmethod
    def _residual(x: torch.Tensor, scale: nn.Module, update: torch.Tensor) -> torch.Tensor:
        if isinstance(scale, LayerScale):  # x + s * u in one kernel (same rounding)
            return torch.addcmul(x, scale.scale, update)
        return x + update


class StreamingTransformer(StreamingModule[KVCacheState]):
    """Batch mode: causal mask limited to ``context`` steps. Streaming: a ring KV cache of
    ``context`` steps (the reference's capacity, so streamed outputs match it exactly)."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int,
        dim_feedforward: int,
        context: int | None,
        norm: NormKind = "layer_norm",
        layer_scale: float | None = None,
        rope_max_period: float | None = 10_000.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.context = context
        self.rope_max_period = rope_max_period
        self.layers = nn.ModuleList(
            TransformerLayer(d_model, num_heads, dim_feedforward, norm, layer_scale)
            for _ in range(num_layers)
        )
        # Inference streaming of LayerNorm stacks (the codec's) takes the fused step.
        self._lean = LeanStep.covering(self.layers, num_heads, rope_max_period)

    def rebuild_fused(self) -> None:
        """The layers' products were swapped (``quantize_int8``): plan the fused step anew."""
        self._lean = LeanStep.covering(self.layers, self.num_heads, self.rope_max_period)

    def init_state(self, batch_size: int) -> KVCacheState:
        if self.context is None:
            raise ValueError("streaming needs a finite attention context to size the KV cache")
        p = self.param_like()
        return KVCacheState.allocate(
            len(self.layers),
            batch_size,
            self.num_heads,
            self.head_dim,
            self.context,
            p.device,
            p.dtype,
        )

    def _rope(self, positions: torch.Tensor) -> torch.Tensor | None:
        if self.rope_max_period is None:
            return None
        rotation = rope_rotation(positions, self.head_dim, self.rope_max_period)
        return rotation[:, :, None, None]  # broadcast over (q|k, heads)

    def forward(self, x: torch.Tensor, state: KVCacheState | None = None) -> torch.Tensor:
        t = x.shape[1]
        if state is None:
            rotation = self._rope(torch.arange(t, device=x.device).view(1, t))
            ctx = StepContext(rotation, causal_mask(t, self.context, x.device), None)
            for layer in self.layers:
                x = layer(x, ctx)
            return x
        if self._lean is not None and not torch.is_grad_enabled():
            return self._lean(x, state, self.context)
        rotation = self._rope(state.positions(t))
        plan, mask = state.advance(t, self.context)
        ctx = StepContext(rotation, mask, plan)
        for layer, cache in zip(self.layers, state.layers, strict=True):
            x = layer(x, ctx, cache)
        return x


class ProjectedTransformer(StreamingModule[KVCacheState]):
    """Transformer on ``[B, C, T]`` (conv layout) with optional in/out projections."""

    def __init__(
        self,
        input_dimension: int,
        output_dimension: int,
        d_model: int,
        num_heads: int,
        num_layers: int,
        dim_feedforward: int,
        context: int | None,
        norm: NormKind = "layer_norm",
        layer_scale: float | None = None,
        rope_max_period: float | None = 10_000.0,
        conv_layout: bool = True,
    ) -> None:
        super().__init__()
        self.transformer = StreamingTransformer(
            d_model,
            num_heads,
            num_layers,
            dim_feedforward,
            context,
            norm,
            layer_scale,
            rope_max_period,
        )
        self.conv_layout = conv_layout
        self.input_proj: nn.Module | None = None
        if input_dimension != d_model:
            self.input_proj = nn.Linear(input_dimension, d_model, bias=False)
        out: nn.Module = nn.Identity()
        if output_dimension != d_model:
            out = nn.Linear(d_model, output_dimension, bias=False)
        self.output_projs = nn.ModuleList([out])

    def init_state(self, batch_size: int) -> KVCacheState:
        return self.transformer.init_state(batch_size)

    def forward(self, x: torch.Tensor, state: KVCacheState | None = None) -> torch.Tensor:
        if self.conv_layout:
            x = x.transpose(1, 2)
        if self.input_proj is not None:
            x = self.input_proj(x)
        y = self.output_projs[0](self.transformer(x, state))
        return y.transpose(1, 2) if self.conv_layout else y

    def step_cl(self, x: torch.Tensor, state: KVCacheState) -> torch.Tensor:
        """Streaming on ``[B, T, C]`` whatever ``conv_layout`` says (the codec's fast path)."""
        if self.input_proj is not None:
            x = self.input_proj(x)
        return self.output_projs[0](self.transformer(x, state))
