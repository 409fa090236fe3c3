"""Per-stream delays of the multi-stream layout (acoustic codebooks one frame late).

``delay_sequence`` shifts stream k right by ``delays[k]`` frames, filling the gap with that
stream's padding token; ``undelay_sequence`` shifts back and marks the tail that has no
value as invalid (NaN values, False mask), the reference's contract for training logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def delay_sequence(
    delays: Sequence[int], codes: torch.Tensor, padding: torch.Tensor
) -> torch.Tensor:
    """``codes [B, K, T]`` -> delayed ``[B, K, T]``; ``padding [B, K, 1]`` fills the head."""
    if len(delays) != codes.shape[1]:
        raise ValueError(f"{len(delays)} delays for {codes.shape[1]} streams")
    out = []
    for k, d in enumerate(delays):
        line = codes[:, k].roll(d, dims=1)
        if d > 0:
            line[:, :d] = padding[:, k]
        out.append(line)
    return torch.stack(out, dim=1)


def undelay_sequence(
    delays: Sequence[int], values: torch.Tensor, fill: float = float("nan")
) -> tuple[torch.Tensor, torch.Tensor]:
    """Delayed ``[B, K, T, ...]`` -> aligned values and a bool validity mask ``[B, K, T]``."""
    b, k, t = values.shape[:3]
    mask = torch.ones(b, k, t, dtype=torch.bool, device=values.device)
    if not any(delays):
        return values, mask
    out = []
    for i, d in enumerate(delays):
        line = values[:, i].roll(-d, dims=1)
        if d > 0:
            line[:, -d:] = fill
            mask[:, i, -d:] = False
        out.append(line)
    return torch.stack(out, dim=1), mask
