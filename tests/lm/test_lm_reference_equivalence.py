"""Our LM vs the reference ``moshi==0.2.13`` LMModel/LMGen (test-only oracle) at the small
configuration (dim 512, 8 layers, depth transformer 256 / 2 layers, all 17 streams), with
the same random weights copied by key name."""

from __future__ import annotations

import torch
from lm_helpers import max_diff, random_codes, reference_and_ours

from antiphon.lm.generate import LMGenerator
from antiphon.lm.sampling import SamplingParams

TOL = 1e-4


def test_training_logits_match_the_reference() -> None:
    ref, ours = reference_and_ours()
    codes = random_codes(ours.config, batch=2, frames=24, seed=1)
    codes[1, 3:, 5] = -1  # the zero token: no input and no loss there
    with torch.no_grad():
        a, b = ref(codes), ours(codes)
    assert a.logits.shape == b.logits.shape == (2, 8, 24, 2048)
    assert torch.equal(a.mask, b.mask) and torch.equal(a.text_mask, b.text_mask)
    assert not bool(b.mask[1, 2:, 5].any())  # masked where the codes were zero tokens
    assert max_diff(a.logits, b.logits) < TOL
    assert max_diff(a.text_logits, b.text_logits) < TOL
    assert float(b.text_logits.nan_to_num(0).abs().max()) > 0.1  # not a comparison of zeros


def test_fifty_greedy_frames_are_identical() -> None:
    from moshi.models.lm import LMGen

    ref, ours = reference_and_ours()
    ref_text_logits: list[torch.Tensor] = []
    ref_gen = LMGen(
        ref, use_sampling=False, on_text_logits_hook=lambda t: ref_text_logits.append(t.clone())
    )
    our_text_logits: list[torch.Tensor] = []

    def keep(logits: torch.Tensor) -> torch.Tensor:
        our_text_logits.append(logits.clone())
        return logits

    gen = LMGenerator(ours, SamplingParams(greedy=True), text_logits_hook=keep)
    state = gen.init_state(1)
    g = torch.Generator().manual_seed(7)
    ref_frames, our_frames = [], []
    with ref_gen.streaming(1):
        for _ in range(51):
            user = torch.randint(0, 2048, (1, 8), generator=g)
            r = ref_gen.step(user.unsqueeze(-1))
            o = gen.step(state, user)
            assert (r is None) == (o is None)
            if r is not None and o is not None:
                ref_frames.append(r[0, :, 0])
                our_frames.append(torch.cat([o.text, o.audio[0]]))
    assert len(our_frames) == 50
    ref_tokens, our_tokens = torch.stack(ref_frames), torch.stack(our_frames)
    assert torch.equal(ref_tokens, our_tokens)
    assert len(torch.unique(our_tokens[:, 1:])) > 20  # audio tokens vary: a real comparison
    for a, b in zip(ref_text_logits, our_text_logits, strict=True):
        assert max_diff(a[:, 0, 0], b) < TOL


def test_grouped_query_attention_matches_the_reference() -> None:
    """kv_repeat > 1 (fewer key/value heads), the layout of GQA backbones."""
    from moshi.models.lm import LMModel as ReferenceLM

    from antiphon.lm.config import tiny_config
    from antiphon.lm.model import LMModel

    cfg = tiny_config(kv_repeat=2)
    torch.manual_seed(3)
    ref = ReferenceLM(dtype=torch.float32, **cfg.to_moshi()).eval()
    ours = LMModel(cfg).eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    codes = random_codes(cfg, batch=1, frames=20, seed=5)
    with torch.no_grad():
        a, b = ref(codes), ours(codes)
    assert max_diff(a.logits, b.logits) < TOL and max_diff(a.text_logits, b.text_logits) < TOL
