"""The multi-stream LM loss (Moshi's recipe) and its per-stream metrics.

total = text_weight * text CE + audio CE, where
* text CE is a weighted mean over the valid text positions (PAD and EPAD tokens weighted
  ``text_padding_weight``: most frames are padding and would otherwise dominate);
* audio CE is a weighted mean over the agent's ``dep_q`` codebooks only, the semantic
  codebook (q0) weighted ``semantic_weight`` and the acoustic ones ``acoustic_weight``.
The user's streams are inputs: the model has no logits for them and they never get a loss.
Validity comes from ``LMOutput``'s masks (delay tails and ZERO_TOKEN padding are False).

``normalizer`` maps a local weight sum to the one to divide by; under DDP it returns the mean
over processes, so the gradient averaged by DDP equals the single-process gradient of the
whole batch even when processes hold different numbers of valid tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from antiphon.lm.model import LMOutput
from antiphon.train.config import LMLossConfig

Normalizer = Callable[[torch.Tensor], torch.Tensor]


def _weighted_ce(
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    weights: torch.Tensor,
    normalizer: Normalizer | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(weighted mean CE, per-position CE of the valid positions). NaN logits outside the mask
    are never touched: only masked positions are gathered."""
    sel_logits = logits[mask].float()
    ce = F.cross_entropy(sel_logits, target[mask], reduction="none")
    w = weights[mask]
    denom = w.sum().detach()
    if normalizer is not None:
        denom = normalizer(denom)
    return (ce * w).sum() / denom.clamp_min(1e-8), ce


def lm_loss(
    out: LMOutput,
    codes: torch.Tensor,
    cfg: LMLossConfig,
    padding_ids: tuple[int, ...],
    normalizer: Normalizer | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss and metrics of a teacher-forced pass on undelayed ``codes [B, 1 + n_q, T]``."""
    dep_q = out.logits.shape[1]
    text_target = codes[:, 0]
    text_mask = out.text_mask[:, 0]
    text_w = torch.ones_like(text_target, dtype=torch.float32)
    for pid in padding_ids:
        text_w = torch.where(text_target == pid, text_w * cfg.text_padding_weight, text_w)
    text_loss, text_ce = _weighted_ce(
        out.text_logits[:, 0], text_target, text_mask, text_w, normalizer
    )

    audio_target = codes[:, 1 : 1 + dep_q]
    audio_w = torch.full(audio_target.shape, cfg.acoustic_weight, device=codes.device)
    audio_w[:, 0] = cfg.semantic_weight
    audio_loss, _ = _weighted_ce(out.logits, audio_target, out.mask, audio_w, normalizer)
    total = cfg.text_weight * text_loss + audio_loss

    logs: dict[str, torch.Tensor] = {
        "loss": total.detach(),
        "text_loss": text_ce.detach().mean() if text_ce.numel() else total.new_zeros(()),
        "audio_loss": audio_loss.detach(),
    }
    with torch.no_grad():
        text_pred = out.text_logits[:, 0].argmax(-1)
        logs["text_acc"] = _accuracy(text_pred, text_target, text_mask)
        words = text_mask & ~_isin(text_target, padding_ids)
        logs["text_word_acc"] = _accuracy(text_pred, text_target, words)
        for k in range(dep_q):
            m = out.mask[:, k]
            ce = F.cross_entropy(out.logits[:, k][m].float(), audio_target[:, k][m])
            logs[f"q{k}_loss"] = ce if bool(m.any()) else ce.new_zeros(())  # same keys always
        logs["semantic_acc"] = _accuracy(
            out.logits[:, 0].nan_to_num(0.0).argmax(-1), audio_target[:, 0], out.mask[:, 0]
        )
    return total, logs


def _isin(x: torch.Tensor, ids: tuple[int, ...]) -> torch.Tensor:
    return torch.isin(x, torch.tensor(ids, device=x.device, dtype=x.dtype))


def _accuracy(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    n = mask.sum()
    if int(n) == 0:
        return torch.zeros((), device=pred.device)
    return ((pred == target) & mask).sum().float() / n
