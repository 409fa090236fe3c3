"""The LM loss: only the agent's streams are targets, masked positions never count, the text
and semantic weights do what they say, and the model's masks cover delays and padding."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from antiphon.lm.config import tiny_config
from antiphon.lm.layers import ZERO_TOKEN
from antiphon.lm.model import LMModel, LMOutput
from antiphon.train.config import LMLossConfig
from antiphon.train.lm_loss import lm_loss

PAD, EPAD = 3, 0
B, DEP_Q, USER_Q, T, TEXT_CARD, CARD = 2, 2, 2, 6, 8, 5


def _case(seed: int = 0) -> tuple[LMOutput, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, DEP_Q, T, CARD, generator=g)
    mask = torch.ones(B, DEP_Q, T, dtype=torch.bool)
    mask[:, 1, -1] = False  # a delay tail
    mask[1, :, 4:] = False  # padding at the end of item 1
    logits[~mask] = float("nan")  # the model's contract: NaN where invalid
    text_logits = torch.randn(B, 1, T, TEXT_CARD, generator=g)
    text_mask = torch.ones(B, 1, T, dtype=torch.bool)
    text_mask[1, :, 4:] = False
    codes = torch.randint(0, CARD, (B, 1 + DEP_Q + USER_Q, T), generator=g)
    codes[:, 0] = torch.tensor([[PAD, EPAD, 5, 6, PAD, 7], [4, PAD, PAD, 5, 6, 6]])
    return LMOutput(logits, mask, text_logits, text_mask), codes


def _reference(out: LMOutput, codes: torch.Tensor, cfg: LMLossConfig) -> float:
    """The loss computed position by position."""
    tn = td = an = ad = 0.0
    for b in range(B):
        for t in range(T):
            if out.text_mask[b, 0, t]:
                tok = int(codes[b, 0, t])
                w = cfg.text_padding_weight if tok in (PAD, EPAD) else 1.0
                tn += w * float(F.cross_entropy(out.text_logits[b, 0, t], codes[b, 0, t]))
                td += w
            for k in range(DEP_Q):
                if out.mask[b, k, t]:
                    w = cfg.semantic_weight if k == 0 else cfg.acoustic_weight
                    an += w * float(F.cross_entropy(out.logits[b, k, t], codes[b, 1 + k, t]))
                    ad += w
    return cfg.text_weight * tn / td + an / ad


def test_loss_matches_the_position_by_position_recipe() -> None:
    out, codes = _case()
    for cfg in (
        LMLossConfig(),
        LMLossConfig(text_weight=3.0, semantic_weight=1.0, text_padding_weight=1.0),
        LMLossConfig(text_weight=0.0, semantic_weight=10.0, acoustic_weight=2.0),
    ):
        loss, logs = lm_loss(out, codes, cfg, (PAD, EPAD))
        assert math.isfinite(float(loss))
        assert abs(float(loss) - _reference(out, codes, cfg)) < 1e-5
        assert set(logs) >= {"text_loss", "audio_loss", "text_acc", "semantic_acc", "q0_loss"}


def test_text_weight_scales_only_the_text_term() -> None:
    out, codes = _case()
    base, _ = lm_loss(out, codes, LMLossConfig(text_weight=1.0), (PAD, EPAD))
    double, _ = lm_loss(out, codes, LMLossConfig(text_weight=2.0), (PAD, EPAD))
    none, logs = lm_loss(out, codes, LMLossConfig(text_weight=0.0), (PAD, EPAD))
    assert abs(float(none) - float(logs["audio_loss"])) < 1e-6
    assert abs((float(double) - float(none)) - 2 * (float(base) - float(none))) < 1e-5


def test_user_stream_gets_no_loss_and_masked_positions_do_not_count() -> None:
    out, codes = _case()
    cfg = LMLossConfig()
    loss, _ = lm_loss(out, codes, cfg, (PAD, EPAD))
    other_user = codes.clone()
    other_user[:, 1 + DEP_Q :] = (codes[:, 1 + DEP_Q :] + 1) % CARD
    assert float(lm_loss(out, other_user, cfg, (PAD, EPAD))[0]) == float(loss)
    # whatever sits at masked positions (targets, logits) changes nothing
    garbage = LMOutput(out.logits.clone(), out.mask, out.text_logits.clone(), out.text_mask)
    garbage.logits[~out.mask] = 1e6
    garbage.text_logits[~out.text_mask.unsqueeze(-1).expand_as(out.text_logits)] = -1e6
    other_targets = codes.clone()
    other_targets[1, :, 4:] = 1
    assert float(lm_loss(garbage, other_targets, cfg, (PAD, EPAD))[0]) == float(loss)


def test_gradient_flows_only_into_valid_agent_positions() -> None:
    out, codes = _case()
    logits = out.logits.nan_to_num(0.0).requires_grad_(True)
    text_logits = out.text_logits.clone().requires_grad_(True)
    loss, _ = lm_loss(
        LMOutput(logits, out.mask, text_logits, out.text_mask), codes, LMLossConfig(), (PAD, EPAD)
    )
    loss.backward()
    assert logits.grad is not None and text_logits.grad is not None
    assert float(logits.grad[~out.mask].abs().sum()) == 0.0
    assert float(logits.grad[out.mask].abs().sum()) > 0.0
    assert float(text_logits.grad[1, 0, 4:].abs().sum()) == 0.0
    # the semantic codebook's positions weigh 100x an acoustic one (same CE scale)
    g0, g1 = logits.grad[0, 0, :4].abs().sum(), logits.grad[0, 1, :4].abs().sum()
    assert float(g0) > 20 * float(g1)


def test_model_masks_cover_padding_and_delays_and_user_has_no_logits() -> None:
    torch.manual_seed(0)
    cfg = tiny_config(dim=32, num_heads=2, num_layers=1)
    model = LMModel(cfg)
    g = torch.Generator().manual_seed(1)
    codes = torch.randint(0, cfg.card, (2, cfg.num_streams, 10), generator=g)
    codes[:, 0] = torch.randint(0, cfg.text_card, (2, 10), generator=g)
    codes[1, :, 7:] = ZERO_TOKEN  # a crop that ran past the dialogue's end
    out = model(codes)
    assert out.logits.shape[1] == cfg.dep_q  # the user's streams are input only
    assert not bool(out.mask[1, :, 7:].any()) and not bool(out.text_mask[1, :, 7:].any())
    assert not bool(out.mask[:, 1:, -1].any())  # acoustic delay: no prediction for the tail
    assert bool(out.mask[0, :, :-1].all())
    loss, logs = lm_loss(out, codes, LMLossConfig(), (cfg.text_padding_id, cfg.text_end_padding_id))
    assert math.isfinite(float(loss.detach())) and all(
        math.isfinite(float(v)) for v in logs.values()
    )
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
