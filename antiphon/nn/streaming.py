"""Explicit streaming state for frame-by-frame modules.

A streaming module runs in two modes from the same weights:

* batch: ``module(x)`` with no state; the input is one whole signal (training, offline);
* streaming: ``state = module.init_state(batch_size)`` then ``module(x, state)`` chunk after
  chunk; ``state`` carries what the module must remember (conv history, transposed-conv
  overlap, KV cache) and is mutated in place.

States are small typed objects owned by the caller. ``reset(mask)`` clears the items of a
batch selected by ``mask`` (a bool tensor ``[B]``) so one conversation can restart while the
others go on.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, fields
from typing import Generic, TypeVar

import torch
from torch import nn


class StreamingState(abc.ABC):
    """State of one streaming module for a batch of independent streams."""

    @property
    @abc.abstractmethod
    def batch_size(self) -> int: ...

    @abc.abstractmethod
    def reset(self, mask: torch.Tensor | None = None) -> None:
        """Forget the past of the batch items where ``mask`` is true (all if None)."""


def full_mask(mask: torch.Tensor | None, batch_size: int, device: torch.device) -> torch.Tensor:
    if mask is None:
        return torch.ones(batch_size, dtype=torch.bool, device=device)
    if mask.shape != (batch_size,):
        raise ValueError(f"reset mask must have shape ({batch_size},), got {tuple(mask.shape)}")
    return mask.to(device=device, dtype=torch.bool)


@dataclass
class StateList(StreamingState):
    """The states of a container's streaming children, in call order."""

    items: list[StreamingState] = field(default_factory=list)
    size: int = 1

    @property
    def batch_size(self) -> int:
        return self.size

    def reset(self, mask: torch.Tensor | None = None) -> None:
        for item in self.items:
            item.reset(mask)


@dataclass
class StateGroup(StreamingState):
    """Base for named groups of child states: reset() resets every state field."""

    @property
    def batch_size(self) -> int:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, StreamingState):
                return value.batch_size
        raise ValueError("empty state group")

    def reset(self, mask: torch.Tensor | None = None) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, StreamingState):
                value.reset(mask)


S = TypeVar("S", bound=StreamingState)


class StreamingModule(nn.Module, Generic[S]):
    """An ``nn.Module`` that can also run chunk by chunk with an explicit state."""

    def init_state(self, batch_size: int) -> S:
        raise NotImplementedError

    def param_like(self) -> torch.Tensor:
        """A tensor carrying the module's device and dtype (for state allocation)."""
        for p in self.parameters():
            return p
        for b in self.buffers():
            return b
        return torch.empty(0)


def init_children(children: list[nn.Module], batch_size: int) -> StateList:
    """States for the streaming modules among ``children`` (others get no slot)."""
    items: list[StreamingState] = []
    for child in children:
        if isinstance(child, StreamingModule):
            items.append(child.init_state(batch_size))
    return StateList(items, batch_size)


def run_sequential(
    children: list[nn.Module], x: torch.Tensor, state: StateList | None
) -> torch.Tensor:
    """Run ``children`` in order, handing each streaming child its own state."""
    if state is None:
        for child in children:
            x = child(x)
        return x
    i = 0
    for child in children:
        if isinstance(child, StreamingModule):
            x = child(x, state.items[i])
            i += 1
        else:
            x = child(x)
    return x
