"""Strict state-dict loading with an error that names every mismatched key."""

from __future__ import annotations

import torch
from torch import nn


class CheckpointError(ValueError):
    """A checkpoint that does not match the model (names the offending keys)."""


def describe_keys(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def strict_load(
    module: nn.Module, state: dict[str, torch.Tensor], what: str, assign: bool = False
) -> None:
    """Load ``state`` into ``module`` or raise CheckpointError listing the missing,
    unexpected and misshaped keys (never a partial load). ``what`` names the model;
    ``assign`` adopts the checkpoint's tensors (a model built on the meta device)."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshaped = [
        f"{k} (checkpoint {tuple(state[k].shape)}, model {tuple(expected[k].shape)})"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {describe_keys(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {describe_keys(unexpected)}")
    if misshaped:
        problems.append(f"misshaped keys: {describe_keys(misshaped)}")
    if problems:
        raise CheckpointError(
            f"checkpoint does not match the {what} config; " + "; ".join(problems)
        )
    module.load_state_dict(state, strict=True, assign=assign)
