"""Token sampling: temperature + top-k, or greedy (the reference's algorithm, seedable).

Sampling draws one token by the exponential-race trick (argmax of p / Exp(1)), which equals
a categorical draw and needs no cumulative sums; a ``torch.Generator`` makes it reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch


class SamplingError(ValueError):
    """Sampling parameters out of range."""


@dataclass(frozen=True)
class SamplingParams:
    temp_text: float = 0.7
    top_k_text: int = 25
    temp: float = 0.8  # audio codebooks
    top_k: int = 250
    greedy: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("temp_text", "temp"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise SamplingError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("top_k_text", "top_k"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SamplingError(f"{name} must be an integer >= 0 (0 = no top-k), got {value!r}")


Generators = torch.Generator | Sequence[torch.Generator] | None


def _race(probs: torch.Tensor, generator: Generators) -> torch.Tensor:
    if generator is None or isinstance(generator, torch.Generator):
        return torch.empty_like(probs).exponential_(1, generator=generator)
    if len(generator) != probs.shape[0]:
        raise SamplingError(f"{len(generator)} generators for a batch of {probs.shape[0]}")
    # One generator per batch item: an item draws the same numbers whatever its batch.
    return torch.stack([torch.empty_like(p).exponential_(1, generator=g)
                        for p, g in zip(probs, generator, strict=True)])  # fmt: skip


def sample_token(
    logits: torch.Tensor,
    temp: float,
    top_k: int,
    greedy: bool,
    generator: Generators = None,
) -> torch.Tensor:
    """``logits [..., V]`` -> tokens ``[...]`` (long). Temperature 0 means greedy.
    ``generator``: one for the whole batch, or one per item of dim 0."""
    logits = logits.float()
    if greedy or temp <= 0.0:
        return logits.argmax(dim=-1)
    indices = None
    if 0 < top_k < logits.shape[-1]:  # top-k of the logits = top-k of the probabilities
        logits, indices = torch.topk(logits, top_k, dim=-1)
    probs = torch.softmax(logits / temp, dim=-1)
    race = _race(probs, generator)
    choice = (probs / race).argmax(dim=-1, keepdim=True)
    if indices is not None:
        choice = indices.gather(-1, choice)
    return choice[..., 0]
