"""The user's words evaluated while they speak (cascade/word_prefill.py): at the end of the
turn the verdict evaluates only what the final transcript added, with the same result."""

from __future__ import annotations

import pytest

from antiphon.cascade.llm import Message
from antiphon.cascade.word_prefill import prefill_words
from antiphon.session.commands import Tool

pytestmark = pytest.mark.models
TOOLS = [Tool("get_time", "Tell the current time.")]


def _prompt(words: str) -> list[Message]:
    return [Message("system", "You are a helpful voice assistant."), Message("user", words)]


def test_partial_words_leave_only_the_tail_to_evaluate(stack) -> None:  # type: ignore[no-untyped-def]
    llm = stack.llm
    final = _prompt("What is the capital of France?")
    stack.end_of_turn_probability(_prompt("Something else entirely, to clear the cache."), TOOLS)
    cold = stack.end_of_turn_probability(final, TOOLS)
    p_tool_cold = llm.tool_probability(final[-1].content, TOOLS)

    stack.end_of_turn_probability(_prompt("Something else entirely, to clear the cache."), TOOLS)
    llm.tool_probability("Something else entirely.", TOOLS)
    prefill_words(stack, _prompt("What is the capital of"), TOOLS)  # a live partial
    evaluated: list[int] = []
    reuse = llm._reuse_prefix

    def spy(tokens: list[int]) -> int:
        kept = reuse(tokens)
        evaluated.append(len(tokens) - kept)
        return int(kept)

    llm._reuse_prefix = spy
    try:
        warm = stack.end_of_turn_probability(final, TOOLS)
    finally:
        del llm._reuse_prefix
    assert evaluated and evaluated[-1] <= 3, evaluated  # " France" (the "?" is stripped)
    # the cache changes the cost, not the verdict: up to llama.cpp's rounding, which differs
    # when the same tokens are evaluated in other batch splits (0.552 vs 0.574 measured)
    assert warm == pytest.approx(cold, abs=0.05)
    assert llm.tool_probability(final[-1].content, TOOLS) == pytest.approx(p_tool_cold, abs=0.05)
