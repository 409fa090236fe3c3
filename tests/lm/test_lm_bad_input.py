"""User codes and sampling parameters out of range get errors that say what is wrong, and
the generator keeps working afterwards."""

from __future__ import annotations

import pytest
import torch
from lm_helpers import tiny_model

from antiphon.lm.generate import LMGenerator, UserTokensError
from antiphon.lm.sampling import SamplingError, SamplingParams


def test_user_codes_out_of_range_or_misshaped() -> None:
    model = tiny_model()
    cfg = model.config
    gen = LMGenerator(model, SamplingParams(seed=0))
    state = gen.init_state(1)
    with pytest.raises(UserTokensError, match=rf"user code {cfg.card} out of range"):
        gen.step(state, torch.full((1, cfg.user_q), cfg.card))
    with pytest.raises(UserTokensError, match="out of range"):
        gen.step(state, torch.full((1, cfg.user_q), -5))
    with pytest.raises(UserTokensError, match="shape"):
        gen.step(state, torch.zeros(1, cfg.user_q + 1, dtype=torch.long))
    with pytest.raises(UserTokensError, match="integers"):
        gen.step(state, torch.zeros(1, cfg.user_q))
    assert int(state.offsets[0]) == 0  # nothing was consumed by the bad frames
    for _ in range(3):
        out = gen.step(state, torch.zeros(1, cfg.user_q, dtype=torch.long))
    assert out is not None and int(out.audio.max()) < cfg.card


@pytest.mark.parametrize(
    ("field", "value"),
    [("temp", -0.1), ("temp_text", float("nan")), ("top_k", -1), ("top_k_text", 2.5)],
)
def test_sampling_parameters_out_of_range(field: str, value: float) -> None:
    with pytest.raises(SamplingError, match=field):
        SamplingParams(**{field: value})  # type: ignore[arg-type]


def test_seeds_reproduce_and_differ() -> None:
    model = tiny_model()
    user = torch.randint(0, model.config.card, (12, 1, model.config.user_q))

    def run(seed: int) -> list[torch.Tensor]:
        gen = LMGenerator(model, SamplingParams(seed=seed))
        state = gen.init_state(1)
        return [o.audio for u in user if (o := gen.step(state, u)) is not None]

    assert all(torch.equal(a, b) for a, b in zip(run(1), run(1), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(run(1), run(2), strict=True))
