"""Shared, cached models for the LM tests (built once per test session)."""

from __future__ import annotations

import functools

import pytest
import torch

from antiphon.lm.config import LMConfig, small_config, tiny_config
from antiphon.lm.model import LMModel


@functools.lru_cache(maxsize=1)
def reference_and_ours(seed: int = 0):  # type: ignore[no-untyped-def]
    """(moshi reference LMModel, our LMModel) at the issue's small configuration, sharing one
    random state dict (copied by key name), both in eval mode, float32."""
    pytest.importorskip(
        "moshi", reason="the reference oracle is installed by requirements-nodeps.txt"
    )
    from moshi.models.lm import LMModel as ReferenceLM

    cfg = small_config()
    torch.manual_seed(seed)
    ref = ReferenceLM(dtype=torch.float32, **cfg.to_moshi()).eval()
    ours = LMModel(cfg).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


@functools.lru_cache(maxsize=2)
def tiny_model(seed: int = 0, config: LMConfig | None = None) -> LMModel:
    torch.manual_seed(seed)
    return LMModel(config or tiny_config()).eval()


def random_codes(cfg: LMConfig, batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    """Undelayed codes ``[B, K, T]``: text tokens on stream 0, audio codes elsewhere."""
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, cfg.card, (batch, cfg.num_streams, frames), generator=g)
    codes[:, 0] = torch.randint(0, cfg.text_card, (batch, frames), generator=g)
    return codes


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.nan_to_num(0.0) - b.nan_to_num(0.0)).abs().max())
