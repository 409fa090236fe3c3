"""Verdicts read off the chat model's next-token distribution rather than generated: has
the user finished (end of turn), and does their message need a tool (the tool judge).
Mixed into ChatLLM: both run on its llama thread, under its lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from antiphon.agent.chatml import IM_END, Message, render_chatml
from antiphon.agent.tool_judge import NONE_WORDS, judge_messages
from antiphon.cascade.prompt_snapshots import PromptSnapshots
from antiphon.cascade.side_context import SideContext
from antiphon.session.commands import Tool

_FINAL_MARKS = ".?!。？！…\"'”’»)"


class ModelVerdicts:
    _llm: Any
    _lock: threading.Lock
    _thread: Any  # an executor of one thread
    _stop_ids: set[int]
    _end_ids: set[int]
    _none_ids: set[int]
    _judge: SideContext | None
    _snapshots: PromptSnapshots
    judge_ctx: int
    n_ctx: int
    default_system: str

    def tokenize(self, text: str) -> list[int]:  # provided by ChatLLM
        raise NotImplementedError

    def _next_token_probs(self, tokens: list[int]) -> Any:  # provided by ChatLLM
        raise NotImplementedError

    def _on_model_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` where llama.cpp calls are made: ChatLLM's llama thread under its lock
        (the batched engine's probes are requests to its own thread instead)."""
        with self._lock:
            return self._thread.submit(fn, *args).result()

    def _judge_probs(self, tokens: list[int]) -> Any:
        """The judge prompt's next-token probabilities, in the judge's own context."""
        if self._judge is None:  # a second context on the same weights: its own KV cache
            self._judge = SideContext(self._llm, self.judge_ctx, end_id=self._snapshots.end_id)
        return self._judge.next_token_probs(tokens)

    def end_of_turn_probability(
        self, messages: Sequence[Message], tools: Sequence[Tool] = ()
    ) -> float:
        """How likely the user's turn is over after their words so far: the model's own
        probability that ``<|im_end|>`` comes next after the last (user) message, as
        LiveKit's turn detector computes it with a small LM. ``messages`` end with the
        user's transcript; the prompt is rendered as the reply's prompt would be, so the
        tokens evaluated here stay in the KV cache and the reply that may follow evaluates
        only ``<|im_end|>`` and the assistant header."""
        if not messages or messages[-1].role != "user":
            raise ValueError("end_of_turn_probability needs the user's words as the last message")
        # the words, not Whisper's guess at the end: it writes the words before a pause as a
        # finished sentence ("Could you check?"), and the model then reads the "?" as the
        # end (bench duplex, tuning seed: 16 of 28 mid-clause pauses judged complete).
        # LiveKit's detector strips punctuation the same way. Only the trailing marks go, so
        # the reply's prompt still shares the KV cache up to the last word.
        words = messages[-1].content.rstrip().rstrip(_FINAL_MARKS).rstrip()
        messages = [*messages[:-1], Message("user", words or messages[-1].content)]
        text = render_chatml(messages, tools, self.default_system, add_generation_prompt=False)
        text = text.removesuffix(f"{IM_END}\n")
        tokens = self.tokenize(text)
        if len(tokens) + 8 > self.n_ctx:
            return 0.5  # cannot tell without the whole context; let the acoustic model decide
        return float(self._on_model_thread(self._p_end_locked, tokens))

    def _p_end_locked(self, tokens: list[int]) -> float:
        """P(the sentence ends here): the turn closes, or a sentence-final mark comes next
        (without its trailing mark the model rarely closes a turn at once)."""
        probs = self._next_token_probs(tokens)
        return float(sum(probs[i] for i in self._end_ids if i < len(probs)))

    # --- does the user's message need a tool? ----------------------------------------------
    def tool_probability(self, user_text: str, tools: Sequence[Tool]) -> float:
        """The model's probability that the user's message needs one of ``tools``: 1 -
        P(it answers "none" to "which tool does the message need?") (agent/tool_judge.py)."""
        return float(self._on_model_thread(self._p_tool_locked, user_text, tools))

    def _p_tool_locked(self, user_text: str, tools: Sequence[Tool]) -> float:
        probs = self._judge_probs(self._judge_tokens(user_text, tools))
        return self._p_tool_from(probs)

    def _judge_tokens(self, user_text: str, tools: Sequence[Tool]) -> list[int]:
        text = render_chatml(judge_messages(user_text, tools), (), self.default_system)
        return self.tokenize(text)[-(self.judge_ctx - 1) :]

    def _p_tool_from(self, probs: Any) -> float:
        if not self._none_ids:
            self._none_ids = {i for w in NONE_WORDS for i in self.tokenize(w)[:1]}
        return 1.0 - sum(float(probs[i]) for i in self._none_ids)


_SENTENCE_MARKS = frozenset(".?!。？！")


def sentence_end_ids(vocab: Sequence[bytes]) -> set[int]:
    """Tokens that end a sentence: one final mark, with or without whitespace around it.
    Qwen writes a question's end as "?" but also as "?\n" or "?\n\n" (0.80 / 0.13 / 0.06
    after "What is the capital of Mexico"); counting only the bare mark read such
    questions as unfinished. An ellipsis ("...") trails off and does not count."""
    ends = set()
    for i, raw in enumerate(vocab):
        text = raw.decode("utf-8", errors="ignore").strip()
        if len(text) == 1 and text in _SENTENCE_MARKS:
            ends.add(i)
    return ends
