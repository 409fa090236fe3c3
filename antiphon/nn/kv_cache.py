"""Ring-buffer KV cache for streaming causal attention with a bounded context.

One ``KVCacheState`` serves a whole transformer: every layer has its own key/value
buffers, while the bookkeeping (which global step sits in which slot, where each batch
item restarted) is shared, so positions and masks are computed once per call, not per layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch

from antiphon.nn.streaming import StreamingState, full_mask


@dataclass(frozen=True)  # ``joint`` is never replaced, so views of it can be cached
class LayerKV:
    """Keys and values are two views of one ``joint`` buffer ``[2, B, H, capacity, D]``, so a
    fused step can write both with one copy."""

    joint: torch.Tensor

    @property
    def keys(self) -> torch.Tensor:  # [B, H, capacity, D]
        return self.joint[0]

    @property
    def values(self) -> torch.Tensor:  # [B, H, capacity, D]
        return self.joint[1]

    @cached_property
    def attention_views(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys transposed ``[B*H, D, capacity]`` and values ``[B*H, capacity, D]``, the
        batched-matmul operands of attention (views of ``joint``, made once)."""
        _, b, h, cap, d = self.joint.shape
        return self.joint[0].view(b * h, cap, d).transpose(1, 2), self.joint[1].view(b * h, cap, d)


@dataclass
class WritePlan:
    """Ring slots ``[T]`` (long) that the next ``T`` steps are written to."""

    slots: torch.Tensor


@dataclass
class KVCacheState(StreamingState):
    """All batch items write in lockstep to the same slots; per-item ``start`` records the
    global step at which an item was last reset, so its older entries are masked out and its
    positions (for RoPE) restart at 0."""

    layers: list[LayerKV]
    slot_step: torch.Tensor  # [capacity] long: global step stored in each slot, -1 if empty
    start: torch.Tensor  # [B] long: global step of each item's position 0
    step: int = 0  # global steps written so far

    @classmethod
    def allocate(
        cls,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        head_dim: int,
        capacity: int,
        device: torch.device,
        dtype: torch.dtype,
    ) -> KVCacheState:
        shape = (2, batch_size, num_heads, capacity, head_dim)
        layers = [
            LayerKV(torch.zeros(shape, device=device, dtype=dtype)) for _ in range(num_layers)
        ]
        return cls(
            layers=layers,
            slot_step=torch.full((capacity,), -1, dtype=torch.long, device=device),
            start=torch.zeros(batch_size, dtype=torch.long, device=device),
        )

    @property
    def batch_size(self) -> int:
        return self.start.shape[0]

    @property
    def capacity(self) -> int:
        return self.slot_step.shape[0]

    def reset(self, mask: torch.Tensor | None = None) -> None:
        m = full_mask(mask, self.batch_size, self.start.device)
        if bool(m.all()):
            self.step = 0
            self.slot_step.fill_(-1)
            self.start.zero_()
        else:
            self.start.masked_fill_(m, self.step)

    def positions(self, length: int) -> torch.Tensor:
        """Per-item positions ``[B, length]`` of the next ``length`` steps."""
        steps = torch.arange(self.step, self.step + length, device=self.start.device)
        return steps.unsqueeze(0) - self.start.unsqueeze(1)

    def advance(self, length: int, context: int | None) -> tuple[WritePlan, torch.Tensor]:
        """Reserve slots for ``length`` new steps; return the write plan and the bool
        attention mask ``[B, 1, length, capacity]`` of the new queries over the cache."""
        cap = self.capacity
        if length > cap:
            raise ValueError(f"chunk of {length} steps exceeds the KV cache capacity {cap}")
        dev = self.slot_step.device
        q_step = torch.arange(self.step, self.step + length, device=dev)
        slots = q_step % cap
        self.slot_step.index_copy_(0, slots, q_step)
        self.step += length
        delta = q_step.view(-1, 1) - self.slot_step.view(1, -1)  # [T, cap]
        ok = (self.slot_step >= 0).view(1, -1) & (delta >= 0)
        if context is not None:
            ok = ok & (delta < context)
        fresh = self.slot_step.view(1, -1) >= self.start.view(-1, 1)  # [B, cap]
        mask = (ok.unsqueeze(0) & fresh.unsqueeze(1)).unsqueeze(1)
        return WritePlan(slots), mask


def write_kv(cache: LayerKV, plan: WritePlan, k: torch.Tensor, v: torch.Tensor) -> None:
    """Store ``[B, H, T, D]`` keys/values at the planned slots."""
    cache.keys.index_copy_(2, plan.slots, k)
    cache.values.index_copy_(2, plan.slots, v)
