"""A second llama.cpp context on an already loaded model: its own KV cache, the same weights.

The tool judge asks its own question on every turn; in the conversation's context that
would evict the conversation from the KV cache, and a second ``Llama`` would load (and on
AVX2, repack) the weights a second time (~1.1 GB more for the 1.5B model). A context is
cheap: a KV cache of ``n_ctx`` positions. Not thread-safe: call it only from the thread
that owns the model (ChatLLM's llama thread).

Its prompts' system blocks are kept as KV snapshots (cascade/prompt_snapshots.py) when
``end_id`` (the block's closing token) is given: the judge's lists the session's tools, so
sessions with different tools would otherwise re-evaluate it (~300 tokens) at every switch.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from antiphon.cascade.prompt_snapshots import PromptSnapshots


class SideContext:
    def __init__(self, llm: Any, n_ctx: int, n_batch: int = 256, end_id: int = -1) -> None:
        import llama_cpp
        from llama_cpp import _internals as internals

        params = llama_cpp.llama_context_default_params()
        ctypes.pointer(params)[0] = llm.context_params  # same threads, types, flash attention
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = min(n_batch, n_ctx)
        self._ctx = internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self._batch = internals.LlamaBatch(n_tokens=params.n_batch, embd=0, n_seq_max=1)
        self.n_ctx, self.n_batch = n_ctx, params.n_batch
        self.n_vocab = llm.n_vocab()
        self._tokens: list[int] = []  # what the KV cache holds, in order
        self.snapshots = PromptSnapshots(self, end_id)

    def next_token_probs(self, tokens: list[int]) -> np.ndarray:
        """Probabilities of the token after ``tokens``; the longest prefix already in the
        cache is reused, and at least the last token is evaluated (its logits are needed)."""
        if not tokens or len(tokens) > self.n_ctx:
            raise ValueError(f"{len(tokens)} tokens for a side context of {self.n_ctx}")
        keep = 0
        for a, b in zip(self._tokens, tokens, strict=False):
            if a != b:
                break
            keep += 1
        keep = self.snapshots.reuse(tokens, min(keep, len(tokens) - 1))
        self.evaluate_from(tokens, keep)
        raw = np.ctypeslib.as_array(self._ctx.get_logits(), shape=(self.n_vocab,))
        logits = raw.astype(np.float64)
        logits -= logits.max()
        probs = np.exp(logits)
        return probs / probs.sum()

    # --- SnapshotHost ------------------------------------------------------------------
    @property
    def context(self) -> Any:
        return self._ctx

    def evaluate_from(self, tokens: list[int], start: int) -> None:
        self._ctx.kv_cache_seq_rm(-1, start, -1)
        self._tokens = self._tokens[:start]
        for i in range(start, len(tokens), self.n_batch):
            chunk = tokens[i : i + self.n_batch]
            self._batch.set_batch(batch=chunk, n_past=len(self._tokens), logits_all=False)
            self._ctx.decode(self._batch)
            self._tokens += chunk

    def now_holds(self, tokens: list[int]) -> None:
        self._tokens = list(tokens)

    def close(self) -> None:
        self._batch.close()
        self._ctx.close()
