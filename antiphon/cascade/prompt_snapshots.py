"""KV snapshots of system prompts, so sessions with different prompts do not re-evaluate them.

ChatLLM's context holds one prompt at a time and reuses the prefix a new prompt shares with
it. Sessions with different system prompts or tools (the browser page with the demo tools,
an API client without, another with its own tools) share no prefix, so each switch
evaluated the whole system block again: 598 tokens with the demo tools, ~10 s on 2 cores.
Here the system block (the tokens up to its ``<|im_end|>``) is saved once, as llama.cpp's
state of sequence 0 (~29 KB a token for Qwen2.5-1.5B), and restored in milliseconds when a
prompt starts with it and the cache does not. The least recently used of ``capacity``
snapshots is dropped. Every call runs on the llama thread that owns the context.

The tool judge's side context (cascade/side_context.py) keeps its own: its prompt's system
block lists the session's tools, so sessions with different tools switched it too.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from typing import Any, Protocol


class SnapshotHost(Protocol):
    """A llama.cpp context whose sequence 0 holds one prompt's tokens at a time."""

    @property
    def context(self) -> Any: ...  # llama_cpp._internals.LlamaContext

    def evaluate_from(self, tokens: list[int], start: int) -> None:
        """The cache holds ``tokens[:start]``: evaluate the rest after it."""

    def now_holds(self, tokens: list[int]) -> None:
        """A restore left exactly ``tokens`` in the cache: record it."""


class PromptSnapshots:
    def __init__(
        self, host: SnapshotHost, end_id: int, capacity: int = 6, min_tokens: int = 64
    ) -> None:
        self.host = host
        self.end_id = end_id  # <|im_end|>: the system block ends with it
        self.capacity = capacity
        self.min_tokens = min_tokens  # shorter system blocks cost less to evaluate than to keep
        self._saved: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.restored = 0  # how often a snapshot replaced an evaluation (tests, metrics)

    def system_block(self, tokens: list[int]) -> int:
        """Length of the system block ``tokens`` starts with (0: none worth keeping)."""
        try:
            end = tokens.index(self.end_id) + 1
        except ValueError:
            return 0
        return end if end >= self.min_tokens and end < len(tokens) else 0

    def reuse(self, tokens: list[int], cached: int) -> int:
        """``cached``: the prefix the context already shares with ``tokens``. Returns the
        prefix it holds afterwards: the system block restored from a snapshot, or evaluated
        and saved, when the context lacked it; else ``cached``."""
        n = self.system_block(tokens)
        if n == 0 or cached >= n:
            return cached
        key = tuple(tokens[:n])
        data = self._saved.get(key)
        if data is not None:
            self._restore(key, data)
            self._saved.move_to_end(key)
            self.restored += 1
            return n
        self.host.evaluate_from(list(key), cached)  # what the caller would have evaluated anyway
        self._save(key)
        return n

    def _save(self, key: tuple[int, ...]) -> None:
        import llama_cpp

        ctx = self.host.context.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
        self._saved[key] = bytes(buf[:n])
        while len(self._saved) > self.capacity:
            self._saved.popitem(last=False)

    def _restore(self, key: tuple[int, ...], data: bytes) -> None:
        import llama_cpp

        context = self.host.context
        context.kv_cache_seq_rm(0, 0, -1)
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(context.ctx, buf, len(data), 0) == 0:
            raise RuntimeError("llama.cpp refused a saved system prompt's state")
        self.host.now_holds(list(key))


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
