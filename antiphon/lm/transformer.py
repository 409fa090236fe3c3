"""The two transformers of the Moshi LM: temporal (over frames) and depth (over codebooks).

Both are pre-norm (float32 RMS norm), SiLU-gated, bias-free (optional q/k/v biases and
FFN width for text-LLM backbones, `antiphon.lm.gguf_init`), key names as the reference
(``layers.N.self_attn.in_projs.K.weight``, ``norm1.alpha``, ``gating[.K].linear_in.weight``).

* Temporal: RoPE, causal with a sliding ``context``; streaming keeps a ring KV cache of
  ``context`` steps (``antiphon.nn.kv_cache``) with absolute, per-item positions.
* Depth: one step per codebook with its own weights (``weights_per_step``), no positions; its
  KV cache lives for one frame only.

Streaming fast path: for one step with no per-item reset, the valid cache slots are exactly
the first ``min(step, context)`` ones and all lie inside the context, so attention needs
neither a mask nor the empty slots (the reference masks all ``context`` slots every step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.lm.layers import Gating, RMSNormF32, apply_per_step
from antiphon.nn.kv_cache import KVCacheState, LayerKV, write_kv
from antiphon.nn.rope import apply_rope, rope_rotation
from antiphon.nn.transformer import causal_mask


class LMAttention(nn.Module):
    def __init__(
        self, dim: int, num_heads: int, kv_repeat: int, num_weights: int, bias: bool = False
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.kv_heads = num_heads // kv_repeat
        self.head_dim = dim // num_heads
        out = dim + 2 * self.kv_heads * self.head_dim
        self.in_projs = nn.ModuleList(nn.Linear(dim, out, bias=bias) for _ in range(num_weights))
        self.out_projs = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(num_weights))

    def qkv(
        self, x: torch.Tensor, step: int, rotation: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries ``[B, H, T, D]``, keys and values ``[B, Hkv, T, D]``, rotated if RoPE
        (``rotation``: complex ``[B, T, 1, D/2]``)."""
        b, t, _ = x.shape
        p = apply_per_step(self.in_projs, x, step)
        h, hkv, hd = self.num_heads, self.kv_heads, self.head_dim
        if hkv == h:  # one view, queries and keys rotated in one go
            qkv = p.view(b, t, 3, h, hd)
            qk = (
                qkv[:, :, :2]
                if rotation is None
                else apply_rope(qkv[:, :, :2], rotation.unsqueeze(2))
            )
            q, k, v = qk[:, :, 0], qk[:, :, 1], qkv[:, :, 2]
        else:
            q = p[..., : h * hd].view(b, t, h, hd)
            kv = p[..., h * hd :].view(b, t, 2, hkv, hd)
            k, v = kv[:, :, 0], kv[:, :, 1]
            if rotation is not None:
                q, k = apply_rope(q, rotation), apply_rope(k, rotation)
        return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)

    def attend(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        if self.kv_heads != self.num_heads:  # grouped-query: head i reads kv head i // rep
            rep = self.num_heads // self.kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        b, _, t, _ = out.shape
        return out.transpose(1, 2).reshape(b, t, -1)


class LMLayer(nn.Module):
    def __init__(
        self,
        dim: int,
        num_heads: int,
        dim_feedforward: int,
        kv_repeat: int = 1,
        num_weights: int = 1,
        eps: float = 1e-8,
        qkv_bias: bool = False,
        ffn_hidden: int | None = None,
    ) -> None:
        super().__init__()
        self.self_attn = LMAttention(dim, num_heads, kv_repeat, num_weights, qkv_bias)
        self.norm1 = RMSNormF32(dim, eps)
        self.norm2 = RMSNormF32(dim, eps)
        self.gating: nn.Module
        if num_weights == 1:
            self.gating = Gating(dim, dim_feedforward, ffn_hidden)
        else:
            self.gating = nn.ModuleList(Gating(dim, dim_feedforward) for _ in range(num_weights))

    def ffn(self, x: torch.Tensor, step: int) -> torch.Tensor:
        h = self.norm2(x)
        if isinstance(self.gating, nn.ModuleList):
            return x + apply_per_step(self.gating, h, step)
        return x + self.gating(h)


@dataclass
class DepthKV:
    """KV of the depth transformer for one frame: slot k holds codebook step k."""

    layers: list[LayerKV]
    step: int = 0


class TemporalTransformer(nn.Module):
    def __init__(
        self,
        dim: int,
        num_heads: int,
        num_layers: int,
        dim_feedforward: int,
        context: int,
        max_period: float,
        kv_repeat: int = 1,
        eps: float = 1e-8,
        qkv_bias: bool = False,
        ffn_hidden: int | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.max_period = max_period
        self.head_dim = dim // num_heads
        self.kv_heads = num_heads // kv_repeat
        self.layers = nn.ModuleList(
            LMLayer(dim, num_heads, dim_feedforward, kv_repeat, 1, eps, qkv_bias, ffn_hidden)
            for _ in range(num_layers)
        )

    def blocks(self) -> list[LMLayer]:
        return cast(list[LMLayer], list(self.layers))

    def init_state(self, batch_size: int) -> KVCacheState:
        p = next(self.parameters())
        return KVCacheState.allocate(
            len(self.layers),
            batch_size,
            self.kv_heads,
            self.head_dim,
            self.context,
            p.device,
            p.dtype,
        )

    def _rotation(self, positions: torch.Tensor) -> torch.Tensor:
        # [B, T] -> [B, T, 1 (heads), D/2], for q/k laid out [B, T, H, D]
        return rope_rotation(positions, self.head_dim, self.max_period).unsqueeze(2)

    def forward(self, x: torch.Tensor, state: KVCacheState | None = None) -> torch.Tensor:
        t = x.shape[1]
        mask: torch.Tensor | None
        if state is None:
            rotation = self._rotation(torch.arange(t, device=x.device).view(1, t))
            mask = causal_mask(t, self.context, x.device)
            for layer in self.blocks():
                q, k, v = layer.self_attn.qkv(layer.norm1(x), 0, rotation)
                x = x + layer.self_attn.out_projs[0](layer.self_attn.attend(q, k, v, mask))
                x = layer.ffn(x, 0)
            return x
        rotation = self._rotation(state.positions(t))
        plan, full_mask = state.advance(t, self.context)
        fast = t == 1 and not bool(state.start.any())
        used = min(state.step, state.capacity)
        mask = None if fast else full_mask
        for layer, cache in zip(self.blocks(), state.layers, strict=True):
            attn = layer.self_attn
            q, k, v = attn.qkv(layer.norm1(x), 0, rotation)
            write_kv(cache, plan, k, v)
            keys, values = cache.keys, cache.values
            if fast:
                keys, values = keys[:, :, :used], values[:, :, :used]
            x = x + attn.out_projs[0](attn.attend(q, keys, values, mask))
            x = layer.ffn(x, 0)
        return x


class DepthTransformer(nn.Module):
    def __init__(
        self,
        dim: int,
        num_heads: int,
        num_layers: int,
        dim_feedforward: int,
        num_steps: int,
        weights_per_step: bool,
        eps: float = 1e-8,
        kv_repeat: int = 1,
    ) -> None:
        super().__init__()
        self.num_steps = num_steps
        self.head_dim = dim // num_heads
        self.kv_heads = num_heads // kv_repeat
        weights = num_steps if weights_per_step else 1
        self.layers = nn.ModuleList(
            LMLayer(dim, num_heads, dim_feedforward, kv_repeat, weights, eps)
            for _ in range(num_layers)
        )

    def blocks(self) -> list[LMLayer]:
        return cast(list[LMLayer], list(self.layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Batch mode: ``x`` is ``[N, K, D]``, one row of K codebook steps per frame."""
        mask = causal_mask(x.shape[1], None, x.device)
        for layer in self.blocks():
            attn = layer.self_attn
            q, k, v = attn.qkv(layer.norm1(x), 0, None)
            x = x + apply_per_step(attn.out_projs, attn.attend(q, k, v, mask), 0)
            x = layer.ffn(x, 0)
        return x

    def new_frame(self, batch_size: int, like: torch.Tensor) -> DepthKV:
        shape = (2, batch_size, self.kv_heads, self.num_steps, self.head_dim)
        layers = [LayerKV(like.new_empty(shape)) for _ in range(len(self.layers))]
        return DepthKV(layers)

    def step(self, x: torch.Tensor, kv: DepthKV) -> torch.Tensor:
        """One codebook step ``[B, 1, D]`` of the current frame."""
        k_idx = kv.step
        if k_idx >= self.num_steps:
            raise ValueError(f"depth transformer has only {self.num_steps} steps per frame")
        for layer, cache in zip(self.blocks(), kv.layers, strict=True):
            attn = layer.self_attn
            q, k, v = attn.qkv(layer.norm1(x), k_idx, None)
            cache.keys[:, :, k_idx : k_idx + 1] = k
            cache.values[:, :, k_idx : k_idx + 1] = v
            keys = cache.keys[:, :, : k_idx + 1]
            values = cache.values[:, :, : k_idx + 1]
            x = x + apply_per_step(attn.out_projs, attn.attend(q, keys, values, None), k_idx)
            x = layer.ffn(x, k_idx)
        kv.step += 1
        return x
