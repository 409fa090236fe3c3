"""The Moshi-family multi-stream speech-text LM (temporal + depth transformers).

Key names follow the reference ``moshi.models.lm.LMModel`` so released checkpoints load
unchanged: ``emb.N``, ``text_emb``, ``transformer.layers.N``, ``out_norm``, ``text_linear``,
``depformer_in.K``, ``depformer_emb.K``, ``depformer_text_emb``, ``depformer.layers.N``,
``linears.K``.

* ``forward(codes)``: batch/teacher-forced training pass on undelayed codes ``[B, K, T]``;
  returns logits aligned with the codes plus validity masks (the reference's contract).
* ``text_step`` / ``depth_step``: the streaming pieces that ``antiphon.lm.generate`` drives
  (``frame_step`` instead of ``text_step`` for dual resolution, ``frames_per_step > 1``).

Extensions (defaults off, docs/training.md): ``speech_layers`` new temporal layers after a
text-initialised backbone (``freeze_backbone``: those get no gradient), and ``dual``, the
per-frame head of the dual-resolution variant (``antiphon.lm.dual_rate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from antiphon.lm.config import LMConfig
from antiphon.lm.delays import delay_sequence, undelay_sequence
from antiphon.lm.dual_rate import DualRateHead, DualRateState
from antiphon.lm.layers import ZERO_TOKEN, RMSNormF32, ZeroEmbedding
from antiphon.lm.transformer import DepthKV, DepthTransformer, TemporalTransformer
from antiphon.nn.kv_cache import KVCacheState


@dataclass
class LMOutput:
    logits: torch.Tensor  # [B, dep_q, T, card], NaN where invalid
    mask: torch.Tensor  # [B, dep_q, T]
    text_logits: torch.Tensor  # [B, 1, T, text_card]
    text_mask: torch.Tensor  # [B, 1, T]


class LMModel(nn.Module):
    def __init__(self, config: LMConfig | None = None) -> None:
        super().__init__()
        c = config or LMConfig()
        self.config = c
        self.emb = nn.ModuleList(ZeroEmbedding(c.card + 1, c.dim) for _ in range(c.n_q))
        self.text_emb = ZeroEmbedding(c.text_card + 1, c.dim)
        self.transformer = TemporalTransformer(
            c.dim,
            c.num_heads,
            c.num_layers + c.speech_layers,
            c.dim_feedforward,
            c.context,
            c.max_period,
            c.kv_repeat,
            c.norm_eps,
            c.qkv_bias,
            c.ffn_hidden,
        )
        self.out_norm = RMSNormF32(c.dim, c.norm_eps)
        self.text_linear = nn.Linear(c.dim, c.text_card, bias=False)
        n_in = c.dep_q if c.depformer_multi_linear else 1
        self.depformer_in = nn.ModuleList(
            nn.Linear(c.dim, c.depformer_dim, bias=False) for _ in range(n_in)
        )
        self.depformer_emb = nn.ModuleList(
            ZeroEmbedding(c.card + 1, c.depformer_dim) for _ in range(c.dep_q - 1)
        )
        self.depformer_text_emb = ZeroEmbedding(c.text_card + 1, c.depformer_dim)
        self.depformer = DepthTransformer(
            c.depformer_dim,
            c.depformer_num_heads,
            c.depformer_num_layers,
            c.depformer_dim_feedforward,
            c.dep_q,
            c.depformer_weights_per_step,
            c.norm_eps,
            c.depth_kv_repeat,
        )
        self.linears = nn.ModuleList(
            nn.Linear(c.depformer_dim, c.card, bias=False) for _ in range(c.dep_q)
        )
        self.dual = DualRateHead(c) if c.frames_per_step > 1 else None
        self._fused_in: tuple[tuple[tuple[int, int], ...], torch.Tensor] | None = None
        self.reset_parameters()
        if c.freeze_backbone:
            for layer in self.transformer.layers[: c.num_layers]:
                layer.requires_grad_(False)

    # --- special tokens ---
    @property
    def initial_token(self) -> int:
        return self.config.card

    @property
    def text_initial_token(self) -> int:
        return self.config.text_card

    def initial_tokens(self, device: torch.device) -> torch.Tensor:
        """``[1, K, 1]``: text start token, then the audio start token on every stream."""
        c = self.config
        audio = [self.initial_token] * c.n_q
        return torch.tensor([self.text_initial_token, *audio], device=device).view(1, -1, 1)

    def reset_parameters(self, skip: Collection[nn.Module] = ()) -> None:
        """Truncated normal, std 1/sqrt(fan_in) (the released models' init); norm gains 1,
        biases 0. Modules in ``skip`` are left alone (weights about to be loaded)."""

        def init(weight: torch.Tensor, fan_in: int) -> None:
            std = 1 / math.sqrt(fan_in)
            nn.init.trunc_normal_(weight, 0.0, std, -3 * std, 3 * std)

        for m in self.modules():
            if m in skip:
                continue
            if isinstance(m, nn.Embedding):
                init(m.weight, m.embedding_dim)
            elif isinstance(m, nn.Linear):
                init(m.weight, m.in_features)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, RMSNormF32):
                nn.init.ones_(m.alpha)

    # --- temporal transformer ---
    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, K, T]`` delayed tokens -> summed embeddings ``[B, T, dim]``."""
        x = self.emb[0](tokens[:, 1])
        for i in range(1, self.config.n_q):
            x = x + self.emb[i](tokens[:, i + 1])
        return x + self.text_emb(tokens[:, 0])

    def text_step(
        self, tokens: torch.Tensor, state: KVCacheState | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Temporal pass on delayed tokens ``[B, K, T]``: (hidden ``[B, T, dim]``,
        text logits ``[B, 1, T, text_card]``). Dual resolution: batch only (no ``state``)."""
        if self.dual is None:
            h = self.out_norm(self.transformer(self.embed(tokens), state))
        elif state is None:
            h = self.out_norm(self.dual(self.embed(tokens), self.transformer))
        else:
            raise ValueError("a dual-rate model streams with frame_step, not text_step")
        return h, self.text_linear(h)[:, None]

    def frame_step(
        self, x: torch.Tensor, kv: KVCacheState, state: DualRateState
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Dual resolution, streaming: one frame's input embedding ``[B, 1, dim]`` ->
        (hidden ``[B, 1, dim]``, text logits ``[B, 1, 1, text_card]``)."""
        if self.dual is None:
            raise ValueError("frame_step needs frames_per_step > 1")
        h = self.out_norm(self.dual.step(x, state, kv, self.transformer))
        return h, self.text_linear(h)[:, None]

    # --- depth transformer ---
    def _depth_input(self, k: int, hidden: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        proj = self.depformer_in[k if len(self.depformer_in) > 1 else 0](hidden)
        emb = self.depformer_text_emb(prev) if k == 0 else self.depformer_emb[k - 1](prev)
        return proj + emb

    def depth_step(
        self, k: int, hidden: torch.Tensor, prev: torch.Tensor, kv: DepthKV
    ) -> torch.Tensor:
        """Logits ``[B, card]`` of agent codebook ``k`` given the frame's hidden ``[B, 1, dim]``
        and the previous token ``[B]`` (the text token for k = 0)."""
        x = self._depth_input(k, hidden, prev.view(-1, 1))
        return self.linears[k](self.depformer.step(x, kv))[:, 0]

    def _all_depth_projections(self, hidden: torch.Tensor) -> list[torch.Tensor] | None:
        """The temporal output projected for every codebook step in one matrix product
        (one pass over the weights instead of dep_q), or None if they are not plain float
        linears (int8, or one shared projection)."""
        layers = [m for m in self.depformer_in if type(m) is nn.Linear]
        if len(layers) != len(self.depformer_in) or len(layers) == 1:
            return None
        weights = [m.weight for m in layers]
        key = tuple((w.data_ptr(), w._version) for w in weights)
        if self._fused_in is None or self._fused_in[0] != key:
            self._fused_in = (key, torch.cat([w.detach() for w in weights], dim=0))
        out = F.linear(hidden, self._fused_in[1])
        return list(out.split(self.config.depformer_dim, dim=-1))

    def depth_frame(
        self,
        hidden: torch.Tensor,
        text_token: torch.Tensor,
        sample: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """All agent codebooks of one frame ``[B, dep_q]``, each sampled by ``sample``."""
        kv = self.depformer.new_frame(hidden.shape[0], hidden)
        projections = self._all_depth_projections(hidden)
        prev = text_token
        out = []
        for k in range(self.config.dep_q):
            if projections is None:
                x = self._depth_input(k, hidden, prev.view(-1, 1))
            else:
                emb = self.depformer_text_emb if k == 0 else self.depformer_emb[k - 1]
                x = projections[k] + emb(prev.view(-1, 1))
            prev = sample(self.linears[k](self.depformer.step(x, kv))[:, 0])
            out.append(prev)
        return torch.stack(out, dim=1)

    # --- training ---
    def forward(self, codes: torch.Tensor) -> LMOutput:
        """Teacher-forced pass on undelayed codes ``[B, K, T]`` (ZERO_TOKEN = no loss/input)."""
        c = self.config
        b, k, _ = codes.shape
        if k != c.num_streams:
            raise ValueError(f"codes have {k} streams, the model expects {c.num_streams}")
        initial = self.initial_tokens(codes.device).expand(b, -1, -1)
        delayed = torch.cat([initial, delay_sequence(c.delays, codes, initial)], dim=2)
        hidden, text_logits = self.text_step(delayed[:, :, :-1])
        logits = self._depth_training(delayed[:, :, 1:], hidden)
        logits, mask = undelay_sequence(c.delays[1 : c.dep_q + 1], logits)
        mask = mask & (codes[:, 1 : c.dep_q + 1] != ZERO_TOKEN)
        text_logits, text_mask = undelay_sequence(c.delays[:1], text_logits)
        text_mask = text_mask & (codes[:, :1] != ZERO_TOKEN)
        return LMOutput(logits, mask, text_logits, text_mask)

    def _depth_training(self, tokens: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        b, _, t = tokens.shape
        inputs = [self._depth_input(k, hidden, tokens[:, k]) for k in range(self.config.dep_q)]
        x = torch.stack(inputs, dim=2).view(b * t, self.config.dep_q, -1)
        out = self.depformer(x)
        logits = [self.linears[k](out[:, k]).view(b, t, -1) for k in range(self.config.dep_q)]
        return torch.stack(logits, dim=1)
