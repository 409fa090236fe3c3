"""Dual resolution (the Fun-Audio-Chat approach): the temporal transformer steps once per
group of ``G = frames_per_step`` frames, a light per-frame head restores the full rate.

Frame ``s = g*G + j`` (input position ``j`` of group ``g``) is predicted from

* ``ctx_g``: the temporal output of group ``g - 1``, whose input is the ``G`` frame
  embeddings of that group, concatenated (the order inside a group matters, a sum would
  lose it) and projected by ``group_in``; a learned ``start`` vector for group 0;
* the frame's own input embedding plus a learned in-group position ``pos[j]``,
* the earlier frames of the same group, through the head's causal attention.

So frame ``s`` sees exactly the inputs ``0..s``: the batch pass (all groups at once) and the
streaming pass (``step``: buffer the group's embeddings, run the backbone when the group
is complete) compute the same function, frame by frame. The head reuses the depth
transformer's machinery (shared weights over ``G`` steps, a KV cache that lives for one
group, no positions besides ``pos``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.lm.config import LMConfig
from antiphon.lm.transformer import DepthKV, DepthTransformer, TemporalTransformer
from antiphon.nn.kv_cache import KVCacheState
from antiphon.nn.streaming import StreamingState, full_mask


@dataclass
class DualRateState(StreamingState):
    """Streaming state of the per-frame head; every batch item is at the same ``phase``."""

    @property
    def batch_size(self) -> int:
        return int(self.ctx.shape[0])

    ctx: torch.Tensor  # [B, 1, D] temporal output of the last complete group (start before)
    frames: torch.Tensor  # [B, G, D] input embeddings of the current group so far
    start: torch.Tensor  # [1, D] the context of a (re)started item's first group
    head: DepthKV | None = None
    phase: int = 0  # frames of the current group already consumed

    def reset(self, mask: torch.Tensor | None = None) -> None:
        m = full_mask(mask, self.ctx.shape[0], self.ctx.device)
        if bool(m.all()):
            self.phase, self.head = 0, None
        elif self.phase:
            # the temporal transformer steps all items together, once per group, so an item
            # can only restart where a group starts for every item
            raise ValueError(
                f"with frames_per_step={self.frames.shape[1]}, items of a batch can be reset"
                f" only at a group boundary (now {self.phase} frames into a group)"
            )
        self.ctx[m] = self.start


class DualRateHead(nn.Module):
    def __init__(self, c: LMConfig) -> None:
        super().__init__()
        self.frames = c.frames_per_step
        self.group_in = nn.Linear(self.frames * c.dim, c.dim, bias=False)
        self.start = nn.Embedding(1, c.dim)
        self.pos = nn.Embedding(self.frames, c.dim)
        self.head = DepthTransformer(
            c.dim,
            c.num_heads,
            c.frame_head_layers,
            c.dim_feedforward,
            self.frames,
            False,
            c.norm_eps,
            c.kv_repeat,
        )

    def forward(self, x: torch.Tensor, backbone: TemporalTransformer) -> torch.Tensor:
        """Batch pass: per-frame input embeddings ``[B, T, D]`` -> per-frame outputs
        ``[B, T, D]`` (before the output norm). A last partial group is zero-padded: the
        padding comes after every real frame, so no real output depends on it."""
        b, t, d = x.shape
        g = self.frames
        n = -(-t // g)
        x = F.pad(x, (0, 0, 0, n * g - t))
        groups = backbone(self.group_in(x.reshape(b, n, g * d)))  # [B, n, D]
        ctx = torch.cat([self.start.weight.expand(b, 1, d), groups[:, :-1]], dim=1)
        u = x.view(b, n, g, d) + ctx.unsqueeze(2) + self.pos.weight
        return self.head(u.reshape(b * n, g, d)).view(b, n * g, d)[:, :t]

    def init_state(self, batch_size: int, like: torch.Tensor) -> DualRateState:
        start = self.start.weight.detach().to(like.dtype)
        ctx = start.expand(batch_size, 1, -1).clone()
        return DualRateState(ctx, like.new_zeros(batch_size, self.frames, ctx.shape[-1]), start)

    def step(
        self,
        x: torch.Tensor,
        state: DualRateState,
        kv: KVCacheState,
        backbone: TemporalTransformer,
    ) -> torch.Tensor:
        """One frame ``[B, 1, D]`` -> its output ``[B, 1, D]``; steps the backbone (KV cache
        ``kv``) after the last frame of a group."""
        j = state.phase
        if j == 0:
            state.head = self.head.new_frame(x.shape[0], x)
        assert state.head is not None
        state.frames[:, j] = x[:, 0]
        out = self.head.step(x + state.ctx + self.pos.weight[j], state.head)
        if j == self.frames - 1:
            b, g, d = state.frames.shape
            state.ctx = backbone(self.group_in(state.frames.reshape(b, 1, g * d)), kv)
            state.phase = 0
        else:
            state.phase = j + 1
        return out
