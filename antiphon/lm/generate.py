"""Streaming generation: one 80 ms frame in, the agent's text + audio tokens out.

A token ring buffer ``[B, K, max_delay + 2]`` applies the per-stream delays on the way in and
undoes them on the way out, as the reference ``LMGen`` does: the user's codes are written
``delay`` slots ahead, the model reads the current slot (start tokens while a stream is still
inside its delay), samples text first and then the agent's codebooks with the depth
transformer, and the frame that is complete on every stream is returned ``max_delay`` steps
later (a dual-rate model buffers a group of frames inside ``GenState.dual``, same
interface). Extension points: ``condition`` (a tensor added to the input embeddings, for
sum-conditioning) and ``text_logits_hook`` / ``audio_logits_hook`` (e.g. classifier-free
guidance) run before sampling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from antiphon.lm.dual_rate import DualRateState
from antiphon.lm.layers import UNGENERATED, ZERO_TOKEN
from antiphon.lm.model import LMModel
from antiphon.lm.sampling import SamplingParams, sample_token
from antiphon.nn.kv_cache import KVCacheState
from antiphon.nn.streaming import StreamingState, full_mask

LogitsHook = Callable[[torch.Tensor], torch.Tensor]


class UserTokensError(ValueError):
    """User codes of the wrong shape or out of the codebook range."""


@dataclass
class GenState(StreamingState):
    """The generator's streaming state: the same kind of typed, per-item resettable state as
    the codec's (``nn/streaming.py``), so a batch's conversations restart independently."""

    kv: KVCacheState
    tokens: torch.Tensor  # [B, K, max_delay + 2] ring of delayed tokens
    offsets: torch.Tensor  # [B] frames since each item's reset
    dual: DualRateState | None = None  # the per-frame head's state (frames_per_step > 1)

    @property
    def batch_size(self) -> int:
        return self.offsets.shape[0]

    def reset(self, mask: torch.Tensor | None = None) -> None:
        m = full_mask(mask, self.batch_size, self.offsets.device)
        if self.dual is not None:
            self.dual.reset(m)  # first: it refuses a reset in the middle of a group
        self.kv.reset(m)
        self.offsets.masked_fill_(m, 0)
        self.tokens.masked_fill_(m.view(-1, 1, 1), UNGENERATED)


@dataclass(frozen=True)
class FrameTokens:
    """One frame of agent output, undelayed: ``text [B]`` and ``audio [B, dep_q]``.
    Items still inside their first ``max_delay`` frames carry ``UNGENERATED``."""

    text: torch.Tensor
    audio: torch.Tensor


class LMGenerator:
    def __init__(
        self,
        model: LMModel,
        params: SamplingParams | None = None,
        condition: torch.Tensor | None = None,
        text_logits_hook: LogitsHook | None = None,
        audio_logits_hook: LogitsHook | None = None,
    ) -> None:
        self.model = model.eval()
        self.params = params or SamplingParams()
        self.condition = condition
        self.text_logits_hook = text_logits_hook
        self.audio_logits_hook = audio_logits_hook
        c = model.config
        # One generator for the batch, or one per item (``seed_items``: an item of a batch
        # then samples what it would sample alone with the same seed).
        self.generator: torch.Generator | list[torch.Generator] | None = None
        if self.params.seed is not None:
            self.generator = torch.Generator().manual_seed(self.params.seed)
        self._delays = torch.tensor(c.delays, dtype=torch.long)
        self._initial = model.initial_tokens(torch.device("cpu"))

    def seed_items(self, seeds: list[int]) -> None:
        """Give every batch item its own generator, seeded with ``seeds[i]``."""
        self.generator = [torch.Generator().manual_seed(s) for s in seeds]

    def reseed_item(self, index: int, seed: int) -> None:
        if not isinstance(self.generator, list):
            raise ValueError("reseed_item needs per-item generators (seed_items first)")
        self.generator[index] = torch.Generator().manual_seed(seed)

    def init_state(self, batch_size: int = 1) -> GenState:
        c = self.model.config
        device = next(self.model.parameters()).device
        self._delays = self._delays.to(device)
        self._initial = self._initial.to(device)
        tokens = torch.full(
            (batch_size, c.num_streams, c.max_delay + 2),
            UNGENERATED,
            dtype=torch.long,
            device=device,
        )
        offsets = torch.zeros(batch_size, dtype=torch.long, device=device)
        kv = self.model.transformer.init_state(batch_size)
        dual = self.model.dual
        like = self.model.text_emb.weight  # embeddings stay float under int8
        head = None if dual is None else dual.init_state(batch_size, like)
        return GenState(kv, tokens, offsets, head)

    def check_user_tokens(self, user: torch.Tensor, batch_size: int) -> torch.Tensor:
        c = self.model.config
        if user.dim() == 3 and user.shape[-1] == 1:
            user = user[..., 0]
        if user.shape != (batch_size, c.user_q):
            raise UserTokensError(
                f"user codes must have shape ({batch_size}, {c.user_q}), got {tuple(user.shape)}"
            )
        if user.dtype.is_floating_point:
            raise UserTokensError(f"user codes must be integers, got {user.dtype}")
        bad = (user < ZERO_TOKEN) | (user >= c.card)
        if bool(bad.any()):
            value = int(user[bad][0])
            raise UserTokensError(f"user code {value} out of range [0, {c.card - 1}]")
        return user.long()

    @torch.no_grad()
    def step(self, state: GenState, user: torch.Tensor) -> FrameTokens | None:
        """Feed one frame of user codes ``[B, user_q]``; None during the first frames."""
        model, c, p = self.model, self.model.config, self.params
        b = state.batch_size
        user = self.check_user_tokens(user.to(state.tokens.device), b)
        ring = state.tokens.shape[2]
        first_user = c.dep_q + 1
        user_slots = (state.offsets.view(-1, 1) + self._delays[first_user:].view(1, -1)) % ring
        state.tokens[:, first_user:].scatter_(2, user_slots.unsqueeze(-1), user.unsqueeze(-1))

        now = (state.offsets % ring).view(-1, 1, 1).expand(b, c.num_streams, 1)
        inputs = state.tokens.gather(2, now)
        warming = state.offsets.view(-1, 1, 1) <= self._delays.view(1, -1, 1)
        inputs = torch.where(warming, self._initial, inputs)

        if state.dual is not None:  # dual resolution: the head steps, the backbone per group
            x = model.embed(inputs)
            if self.condition is not None:
                x = x + self.condition.to(x)
            hidden, text_logits = model.frame_step(x, state.kv, state.dual)
        elif self.condition is None:
            hidden, text_logits = model.text_step(inputs, state.kv)
        else:
            hidden, text_logits = self._conditioned_text_step(inputs, state.kv)
        text_logits = text_logits[:, 0, 0]
        if self.text_logits_hook is not None:
            text_logits = self.text_logits_hook(text_logits)
        text = sample_token(text_logits, p.temp_text, p.top_k_text, p.greedy, self.generator)
        audio = model.depth_frame(hidden, text, self._sample_audio)

        state.offsets += 1
        slot = (state.offsets % ring).view(-1, 1, 1)
        generated = torch.cat([text.view(-1, 1), audio], dim=1).unsqueeze(-1)
        state.tokens[:, :first_user].scatter_(2, slot.expand(b, first_user, 1), generated)

        ready = state.offsets > c.max_delay
        if not bool(ready.any()):
            return None
        out_slots = (state.offsets.view(-1, 1) - c.max_delay + self._delays[:first_user]) % ring
        out = state.tokens[:, :first_user].gather(2, out_slots.unsqueeze(-1))[..., 0]
        out = out.masked_fill(~ready.view(-1, 1), UNGENERATED)
        return FrameTokens(out[:, 0], out[:, 1:])

    def _sample_audio(self, logits: torch.Tensor) -> torch.Tensor:
        if self.audio_logits_hook is not None:
            logits = self.audio_logits_hook(logits)
        p = self.params
        return sample_token(logits, p.temp, p.top_k, p.greedy, self.generator)

    def _conditioned_text_step(
        self, inputs: torch.Tensor, kv: KVCacheState
    ) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.model
        assert self.condition is not None
        x = model.embed(inputs)
        x = x + self.condition.to(x)  # int8 linears have no .weight to take the dtype from
        h = model.out_norm(model.transformer(x, kv))
        return h, model.text_linear(h)[:, None]
