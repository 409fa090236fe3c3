"""KV snapshots of prompts, so sessions that share one llama.cpp context do not re-evaluate
each other's prompts.

ChatLLM's context holds one prompt at a time and reuses the prefix a new prompt shares with
it. Two kinds of prefix are lost when another session's prompt takes the context:

- **System blocks.** Sessions with different system prompts or tools (the browser page with
  the demo tools, an API client without, another with its own tools) share no prefix, so
  each switch evaluated the whole system block again: 598 tokens with the demo tools, ~10 s
  on 2 cores. The system block (the tokens up to its first ``<|im_end|>``) is saved the
  first time it is evaluated.
- **Conversations.** With several sessions taking turns, each turn evaluated its session's
  whole history after the system block again (its user turns and the model's replies).
  ``remember`` saves the context after each finished reply, and a later prompt that
  continues that conversation restores it and evaluates only its new words.

A snapshot is llama.cpp's state of sequence 0 (~29 KB a token for Qwen2.5-1.5B), restored in
milliseconds when a prompt starts with its tokens and the cache holds less of them. The
least recently used go first when there are more than ``capacity`` or more than
``budget_bytes`` in all; a conversation's newer snapshot replaces its older one. Every call
runs on the llama thread that owns the context.

The tool judge's side context (cascade/side_context.py) keeps its own: its prompt's system
block lists the session's tools, so sessions with different tools switched it too.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol


class SnapshotHost(Protocol):
    """A llama.cpp context whose sequence 0 holds one prompt's tokens at a time."""

    @property
    def context(self) -> Any: ...  # llama_cpp._internals.LlamaContext

    def evaluate_from(self, tokens: list[int], start: int) -> None:
        """The cache holds ``tokens[:start]``: evaluate the rest after it."""

    def now_holds(self, tokens: list[int]) -> None:
        """A restore left exactly ``tokens`` in the cache: record it."""


@dataclass
class _Snapshot:
    state: Any  # a ctypes byte array: llama.cpp's sequence state
    size: int
    conversation: bool  # False: a system block (kept while conversations on it come and go)


class PromptSnapshots:
    def __init__(
        self,
        host: SnapshotHost,
        end_id: int,
        capacity: int = 16,
        min_tokens: int = 64,
        budget_bytes: int = 512 << 20,
    ) -> None:
        self.host = host
        self.end_id = end_id  # <|im_end|>: the system block ends with it
        self.capacity = capacity
        self.min_tokens = min_tokens  # shorter system blocks cost less to evaluate than to keep
        self.budget_bytes = budget_bytes
        self.conversations = True  # False: system blocks only (benches compare the two)
        self._saved: OrderedDict[tuple[int, ...], _Snapshot] = OrderedDict()
        self.restored = 0  # how often a snapshot replaced an evaluation (tests, metrics)

    @property
    def saved_bytes(self) -> int:
        return sum(s.size for s in self._saved.values())

    def system_block(self, tokens: list[int]) -> int:
        """Length of the system block ``tokens`` starts with (0: none worth keeping)."""
        try:
            end = tokens.index(self.end_id) + 1
        except ValueError:
            return 0
        return end if end >= self.min_tokens and end < len(tokens) else 0

    def reuse(self, tokens: list[int], cached: int) -> int:
        """``cached``: the prefix the context already shares with ``tokens``. Returns the
        prefix it holds afterwards: the longest snapshot that starts ``tokens``, restored,
        when it is longer than ``cached``; else the system block, evaluated and saved, when
        the context lacked it; else ``cached``. At least one token is left to evaluate."""
        best: tuple[int, ...] | None = None
        for key in self._saved:
            n = len(key)
            longer = cached < n < len(tokens) and (best is None or n > len(best))
            if longer and tokens[n - 1] == key[-1] and tuple(tokens[:n]) == key:
                best = key
        if best is not None:
            self._restore(best)
            return len(best)
        n = self.system_block(tokens)
        if n == 0 or cached >= n:
            return cached
        key = tuple(tokens[:n])
        self.host.evaluate_from(list(key), cached)  # what the caller would have evaluated anyway
        self._save(key, conversation=False)
        return n

    def remember(self, tokens: list[int]) -> None:
        """The context holds exactly ``tokens`` (a finished reply and the next turn's
        opening): keep them for the next turn of this conversation, replacing the
        conversation's older snapshot."""
        if not self.conversations or self.system_block(tokens) == 0:
            return
        key = tuple(tokens)
        for old in [k for k, s in self._saved.items() if s.conversation]:
            if len(old) < len(key) and key[: len(old)] == old:
                del self._saved[old]  # superseded: the same conversation, fewer turns
        self._save(key, conversation=True)

    def _save(self, key: tuple[int, ...], conversation: bool) -> None:
        import llama_cpp

        ctx = self.host.context.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
        self._saved[key] = _Snapshot(buf, n, conversation)  # no copy: the buffer is kept
        self._saved.move_to_end(key)
        while len(self._saved) > 1 and (
            len(self._saved) > self.capacity or self.saved_bytes > self.budget_bytes
        ):
            self._saved.popitem(last=False)

    def _restore(self, key: tuple[int, ...]) -> None:
        import llama_cpp

        snap = self._saved[key]
        context = self.host.context
        context.kv_cache_seq_rm(0, 0, -1)
        if llama_cpp.llama_state_seq_set_data(context.ctx, snap.state, snap.size, 0) == 0:
            raise RuntimeError("llama.cpp refused a saved prompt's state")
        self.host.now_holds(list(key))
        self._saved.move_to_end(key)
        self.restored += 1


class LlamaHost:
    """ChatLLM's ``llama_cpp.Llama`` as a SnapshotHost."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    @property
    def context(self) -> Any:
        return self.llm._ctx

    def evaluate_from(self, tokens: list[int], start: int) -> None:
        self.llm.n_tokens = start
        self.llm.eval(tokens[start:])

    def now_holds(self, tokens: list[int]) -> None:
        import numpy as np

        llm = self.llm
        llm.input_ids[: len(tokens)] = np.asarray(tokens, dtype=llm.input_ids.dtype)
        llm.n_tokens = len(tokens)
