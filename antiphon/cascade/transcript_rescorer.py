"""Which of the recognizer's best guesses did the user most likely say? A language model's
judgement, added to Whisper's own.

Whisper base's beam search keeps several hypotheses; the one it ranks first is sometimes a
near-homophone that makes no sense ("What do you call a maybe cat?", "Which bar is a symbol
of peace?") while the right words are among the others. A text language model knows which
sentence a person is likely to say. Each of the top hypotheses is scored as

    Whisper's total log-probability + weight x the LM's log-probability of the words as a
    user's message (ending there),

and the best is kept — shallow-fusion rescoring of an n-best list, the LM's judgement, no
word list. Weight 0.3 and 3 hypotheses were chosen on the tune half of `antiphon bench
quality`'s clips; on the test half (2026-12-06, 2 cores, Whisper base beam 5, the chat model
Qwen2.5-Coder-1.5B as scorer) synthetic voices went from 9.6 to 8.0 % WER and the human
recordings from 4.9 to 4.5 %, for 0.67 s more per final decode (p50). Off by default
(CascadeConfig.asr_rescore): docs/bench-quality.md has both sides.

The LM evaluates only what a hypothesis does not share with the one scored before it (the
hypotheses of one utterance differ in a word or two), in its own llama.cpp context.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# the scorer's context: the words as what a user says to an assistant (the chat template)
_PREFIX = "<|im_start|>system\nYou are a helpful voice assistant.<|im_end|>\n<|im_start|>user\n"
_END = "<|im_end|>"


@dataclass(frozen=True)
class Hypothesis:
    text: str
    logprob: float  # the recognizer's total log-probability of its tokens


def _words(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


class TranscriptRescorer:
    """Loads its own llama.cpp model (a small chat model is enough: it reads ~10 tokens per
    hypothesis). Thread-safe: one scoring at a time."""

    def __init__(
        self, model_path: str | Path, weight: float = 0.3, n_threads: int = 2, n_ctx: int = 512
    ) -> None:
        from llama_cpp import Llama
        from llama_cpp import _internals as internals

        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"transcript rescorer: no model file at {path}")
        self.weight = weight
        self._llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_batch=n_ctx,
            verbose=False,
        )
        self._ctx = self._llm._ctx  # the Llama's own context: only this class evaluates in it
        self._batch = internals.LlamaBatch(n_tokens=n_ctx, embd=0, n_seq_max=1)
        self._n_ctx, self._n_vocab = n_ctx, self._llm.n_vocab()
        self._prefix = self._tokenize(_PREFIX, special=True)
        end = self._tokenize(_END, special=True)
        if len(end) != 1:
            raise ValueError(f"{path.name}: not a ChatML model (no single {_END} token)")
        self._end = end[0]
        self._tokens: list[int] = []  # what the KV cache holds
        self._logprobs: list[float] = []  # log P(token i | tokens before it), for i >= 1
        self._lock = threading.Lock()

    def _tokenize(self, text: str, special: bool = False) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def choose(self, hypotheses: Sequence[Hypothesis]) -> int:
        """The index of the hypothesis to keep (0 when there is nothing to choose between)."""
        if not hypotheses:
            raise ValueError("transcript rescorer: no hypotheses to choose from")
        # hypotheses that differ only in case or punctuation: the recognizer's ranking stands
        distinct: dict[str, int] = {}
        for i, h in enumerate(hypotheses):
            distinct.setdefault(_words(h.text), i)
        candidates = [i for w, i in distinct.items() if w]
        if len(candidates) < 2:
            return 0
        with self._lock:
            lm = {i: self.language_logprob(hypotheses[i].text) for i in candidates}
        return max(candidates, key=lambda i: hypotheses[i].logprob + self.weight * lm[i])

    def language_logprob(self, text: str) -> float:
        """log P(the user's message is exactly ``text``) under the LM, its end included."""
        words = self._tokenize(text.strip())
        tokens = [*self._prefix, *words, self._end]
        if len(tokens) > self._n_ctx:
            return float("-inf")  # a transcript this long is not a spoken turn's
        self._evaluate(tokens)
        return float(sum(self._logprobs[len(self._prefix) : len(tokens)]))

    def _evaluate(self, tokens: list[int]) -> None:
        """Fill ``_logprobs`` for ``tokens``, evaluating only what the cache does not share
        (and the last shared token again, whose logits score the first new one)."""
        common = 0
        for a, b in zip(self._tokens, tokens, strict=False):
            if a != b:
                break
            common += 1
        if common == len(tokens):
            return
        keep = max(0, common - 1)
        self._ctx.kv_cache_seq_rm(-1, keep, -1)
        new = tokens[keep:]
        self._batch.set_batch(batch=new, n_past=keep, logits_all=True)
        self._ctx.decode(self._batch)
        rows = np.ctypeslib.as_array(self._ctx.get_logits(), shape=(len(new), self._n_vocab))
        logits = rows[:-1].astype(np.float64)  # row j scores the token at keep + j + 1
        peak = logits.max(axis=1, keepdims=True)
        lse = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
        following = np.asarray(new[1:])
        lp = logits[np.arange(len(following)), following] - lse
        self._tokens = tokens
        # positions up to ``keep`` share their tokens and context with the cached ones
        self._logprobs = [*(self._logprobs[: keep + 1] or [0.0]), *lp.tolist()]

    def close(self) -> None:
        self._batch.close()
        self._llm.close()


def rescorer_for(name: str, weight: float, n_threads: int) -> TranscriptRescorer | None:
    """``name``: a chat model of antiphon.models.LLM_MODELS, or "off"."""
    if name == "off":
        return None
    from antiphon.models import LLM_MODELS

    if name not in LLM_MODELS:
        raise ValueError(
            f"unknown transcript rescorer {name!r}; use off or one of {list(LLM_MODELS)}"
        )
    return TranscriptRescorer(LLM_MODELS[name](), weight=weight, n_threads=n_threads)
