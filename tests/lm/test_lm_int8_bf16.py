"""Weight-only int8 and bf16 inference: same model, bounded logit error, working generation."""

from __future__ import annotations

import copy

import torch
from lm_helpers import max_diff, random_codes, tiny_model

from antiphon.lm.generate import LMGenerator
from antiphon.lm.quantize import Int8Linear, quantize_int8
from antiphon.lm.sampling import SamplingParams


def test_int8_logits_stay_close_and_generation_runs() -> None:
    model = tiny_model()
    q = quantize_int8(copy.deepcopy(model))
    left = [m for m in q.modules() if isinstance(m, torch.nn.Linear)]
    assert all(m.in_features % 16 for m in left)  # only widths the int8 kernel cannot take
    assert sum(isinstance(m, Int8Linear) for m in q.modules()) > 10
    codes = random_codes(model.config, 2, 16, seed=3)
    with torch.no_grad():
        a, b = model(codes), q(codes)
    scale = float(a.text_logits.nan_to_num(0).abs().max())
    err = max(max_diff(a.text_logits, b.text_logits), max_diff(a.logits, b.logits))
    assert 0 < err < 0.1 * scale  # quantised (not identical), yet close
    gen = LMGenerator(q, SamplingParams(seed=0))
    state = gen.init_state(1)
    outs = [gen.step(state, torch.zeros(1, 8, dtype=torch.long)) for _ in range(4)]
    assert outs[-1] is not None and outs[-1].audio.shape == (1, 8)


def test_bf16_model_matches_float32_loosely() -> None:
    model = tiny_model()
    half = copy.deepcopy(model).to(torch.bfloat16)
    codes = random_codes(model.config, 1, 10, seed=4)
    with torch.no_grad():
        a, b = model(codes), half(codes)
    assert b.text_logits.dtype == torch.bfloat16
    scale = float(a.text_logits.nan_to_num(0).abs().max())
    assert max_diff(a.text_logits, b.text_logits.float()) < 0.1 * scale
