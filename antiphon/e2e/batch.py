"""Several conversations in one batched step per frame.

``BatchedFrameEngine`` holds ``slots`` conversations: one codec encode, one LM step (text +
depth transformer) and one codec decode per 80 ms frame for all of them. Every streaming
state (codec convs and KV caches, the LM's KV cache and token ring) is per batch item, so a
slot can be (re)started with ``reset_slot`` while the others go on, and each slot samples
with its own generator: a conversation gets the tokens it would get alone with that seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from antiphon.codec.model import MimiState
from antiphon.e2e.stack import E2EStack, FrameOut
from antiphon.lm.generate import GenState, LMGenerator
from antiphon.lm.layers import UNGENERATED
from antiphon.lm.sampling import SamplingParams


class SlotError(ValueError):
    """A slot index out of range, or no free slot."""


@dataclass
class SlotInfo:
    active: bool = False
    seed: int = 0
    frames: int = 0


class BatchedFrameEngine:
    def __init__(
        self,
        stack: E2EStack,
        slots: int,
        params: SamplingParams | None = None,
        seeds: list[int] | None = None,
    ) -> None:
        if slots < 1:
            raise SlotError(f"slots must be >= 1, got {slots}")
        self.stack = stack
        self.slots = slots
        self.generator = LMGenerator(stack.lm, params or stack.params)
        seeds = list(range(slots)) if seeds is None else list(seeds)
        if len(seeds) != slots:
            raise SlotError(f"{len(seeds)} seeds for {slots} slots")
        self.generator.seed_items(seeds)
        self.info = [SlotInfo(False, s) for s in seeds]
        self.state: GenState = self.generator.init_state(slots)
        self.codec: MimiState = stack.mimi.init_state(slots)
        self.user_q = stack.lm.config.user_q

    def _check(self, slot: int) -> None:
        if not 0 <= slot < self.slots:
            raise SlotError(f"slot {slot} out of range [0, {self.slots})")

    def reset_slot(self, slot: int, seed: int | None = None) -> None:
        """Start slot ``slot`` afresh (a new conversation); the other slots are untouched."""
        self._check(slot)
        mask = torch.zeros(self.slots, dtype=torch.bool)
        mask[slot] = True
        self.state.reset(mask)
        self.codec.reset(mask)
        info = self.info[slot]
        info.seed = info.seed if seed is None else seed
        info.frames = 0
        self.generator.reseed_item(slot, info.seed)

    def acquire(self, seed: int | None = None) -> int:
        """A free slot, reset and marked active."""
        for i, info in enumerate(self.info):
            if not info.active:
                self.reset_slot(i, seed)
                info.active = True
                return i
        raise SlotError(f"all {self.slots} slots are taken")

    def release(self, slot: int) -> None:
        self._check(slot)
        self.info[slot].active = False

    @torch.inference_mode()
    def step(self, pcm: np.ndarray) -> list[FrameOut]:
        """``[slots, frame_size]`` user audio -> one ``FrameOut`` per slot (idle slots too)."""
        fs = self.stack.frame_size
        if pcm.shape != (self.slots, fs):
            raise ValueError(f"a batched frame is ({self.slots}, {fs}) samples, got {pcm.shape}")
        mimi = self.stack.mimi
        x = torch.from_numpy(np.ascontiguousarray(pcm, np.float32)).view(self.slots, 1, fs)
        codes = mimi.encode_step(x, self.codec.encoder)
        out = self.generator.step(self.state, codes[:, : self.user_q, 0])
        for info in self.info:
            info.frames += 1
        silence = np.zeros(fs, np.float32)
        if out is None:
            return [FrameOut(silence, -2) for _ in range(self.slots)]
        ready = out.audio[:, 0] != UNGENERATED
        audio = mimi.decode_step(out.audio.clamp(min=0).unsqueeze(-1), self.codec.decoder)
        if not bool(ready.all()):  # a slot still warming up has decoded nothing yet
            self.codec.decoder.reset(~ready)
        wav = audio.view(self.slots, -1).float().numpy()
        return [
            FrameOut(wav[i].copy() if bool(ready[i]) else silence, int(out.text[i]))
            for i in range(self.slots)
        ]
