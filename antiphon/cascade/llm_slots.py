"""The sequences (slots) of the batched LLM engine's one llama.cpp context, and the sampler
chain each generating request samples its own batch row with.

A slot is one KV sequence. A request takes the free slot whose whole cache is the longest
prefix of its prompt, so a session's next turn lands in the slot that holds its
conversation and evaluates only its new words; when no free slot's cache is a prefix, the
least recently used slot goes, so idle conversations survive longest (llama.cpp's server
does the same, with a similarity threshold). The KV cache is unified: cells can belong to several sequences, so a prefix held
by any other slot (the warmed system prompt, a busy session's) is shared into the chosen
slot with ``seq_cp`` instead of being evaluated again.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from antiphon.cascade.llm_modes import common_prefix_length

CHAT, JUDGE = 0, 1  # slot pools: conversations, and the tool judge's own prompts

_clock = itertools.count()


@dataclass
class Slot:
    seq: int  # the llama.cpp sequence id
    pool: int
    tokens: list[int] = field(default_factory=list)  # what the KV sequence holds, in order
    busy: bool = False
    used: int = 0  # last use, for LRU

    def touch(self) -> None:
        self.used = next(_clock)


@dataclass(frozen=True)
class Placement:
    slot: Slot
    keep: int  # positions of the slot's own cache kept
    share_from: Slot | None  # a slot whose longer prefix is copied in (cells shared)
    shared: int  # the prefix length after sharing


class SlotPool:
    def __init__(self, chat: int, judge: int) -> None:
        self.slots = [Slot(i, CHAT) for i in range(chat)]
        self.slots += [Slot(chat + i, JUDGE) for i in range(judge)]

    def free(self, pool: int) -> list[Slot]:
        return [s for s in self.slots if s.pool == pool and not s.busy]

    def place(self, pool: int, tokens: Sequence[int]) -> Placement | None:
        """The slot for a prompt (None while every slot of the pool is busy). At least the
        last prompt token is left to evaluate: its logits give the first new token."""
        free = self.free(pool)
        if not free:
            return None
        limit = len(tokens) - 1

        def rank(s: Slot) -> tuple[int, int]:
            # a slot whose whole cache starts this prompt (a session's next turn, the warmed
            # system prompt, an empty slot): the longest such; else the least recently used,
            # so that another session's conversation is not rewound for a shared opening
            # (the opening is shared into the chosen slot below)
            n = common_prefix_length(s.tokens, tokens)
            return (1, n) if n == len(s.tokens) else (0, -s.used)

        best = max(free, key=rank)
        keep = min(common_prefix_length(best.tokens, tokens), limit)
        donor, shared = None, keep
        for other in self.slots:
            if other is best or other.pool != pool:
                continue
            n = min(common_prefix_length(other.tokens, tokens), limit)
            if n > shared:
                donor, shared = other, n
        return Placement(best, keep, donor, shared)

    def idle_lru(self) -> list[Slot]:
        """Free slots holding a cache, least recently used first (what to evict)."""
        return sorted((s for s in self.slots if not s.busy and s.tokens), key=lambda s: s.used)


def make_sampler(
    llm: Any,
    temperature: float,
    grammar: Any | None,
    ban: Sequence[int],
    seed: int,
) -> Any:
    """The chain ChatLLM's ``Llama.generate`` builds (llama_cpp.Llama._init_sampler), with
    ChatLLM's settings: the banned tokens (a logit bias instead of a Python logits
    processor), repeat penalty 1.05 over the last 64 sampled tokens, the grammar, then
    greedy at temperature 0 or top-k 40 / top-p 0.9 / min-p 0.05 / temperature. The chain
    sees only the tokens it sampled (``sample`` accepts them), as a fresh ``generate``."""
    from llama_cpp import _internals as internals

    sampler = internals.LlamaSampler()
    if ban:
        sampler.add_logit_bias(llm.n_vocab(), dict.fromkeys(ban, -float("inf")))
    sampler.add_penalties(
        n_vocab=llm.n_vocab(),
        penalty_last_n=llm.last_n_tokens_size,
        penalty_repeat=1.05,
        penalty_freq=0.0,
        penalty_present=0.0,
    )
    if grammar is not None:
        sampler.add_grammar(llm._model, grammar)
    if temperature == 0.0:
        sampler.add_greedy()
    else:
        sampler.add_top_k(40)
        sampler.add_typical(1.0, 1)
        sampler.add_top_p(0.9, 1)
        sampler.add_min_p(0.05, 1)
        sampler.add_temp(temperature)
        sampler.add_dist(seed)
    return sampler
