"""System prompts kept as KV snapshots (cascade/prompt_snapshots.py), on a real GGUF model:
switching between sessions' prompts restores the other prompt instead of evaluating it,
and what the model computes after a restore is what it computes from scratch."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("llama_cpp")

from antiphon.agent.builtin_tools import DemoTools  # noqa: E402
from antiphon.agent.chatml import Message, render_chatml  # noqa: E402
from antiphon.agent.persona import default_instructions, with_tool_guidance  # noqa: E402
from antiphon.cascade.llm import ChatLLM  # noqa: E402
from antiphon.models import smollm2_gguf  # noqa: E402

pytestmark = pytest.mark.models


def _prompt(llm: ChatLLM, system: str, tools: list, question: str) -> list[int]:  # type: ignore[type-arg]
    text = render_chatml([Message("system", system), Message("user", question)], tools)
    return llm.tokenize(text)


def _probs(llm: ChatLLM, tokens: list[int]) -> np.ndarray:
    return np.asarray(llm._thread.submit(llm._next_token_probs, tokens).result())


def test_switching_prompts_restores_instead_of_evaluating() -> None:
    llm = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    plain = default_instructions("en")
    tools = DemoTools().registry.schemas()
    a = _prompt(llm, with_tool_guidance(plain, "en"), tools, "Set a timer for two minutes.")
    b = _prompt(llm, plain, [], "What is the capital of France?")
    snaps = llm._snapshots
    assert snaps.system_block(a) > snaps.system_block(b) >= snaps.min_tokens
    _probs(llm, a)  # evaluates A's system block and saves it
    _probs(llm, b)  # the same for B
    assert snaps.restored == 0
    back = _probs(llm, a)  # A again: its system block comes back from the snapshot
    assert snaps.restored == 1
    assert llm._llm.n_tokens == len(a)
    fresh = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    expected = _probs(fresh, a)  # the same prompt in a context that never saw B
    assert int(back.argmax()) == int(expected.argmax())
    assert float(np.abs(back - expected).max()) < 1e-3
    # a prompt whose system block is already cached is not touched
    a2 = _prompt(llm, with_tool_guidance(plain, "en"), tools, "Turn on the kitchen lights.")
    _probs(llm, a2)
    assert snaps.restored == 1


def test_short_system_blocks_and_prompts_without_one_are_left_alone() -> None:
    llm = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    short = llm.tokenize(render_chatml([Message("system", "Be brief."), Message("user", "Hi")]))
    assert llm._snapshots.system_block(short) == 0
    bare = llm.tokenize("no chat template here at all")
    assert llm._snapshots.system_block(bare) == 0
    _probs(llm, short)
    _probs(llm, bare)
    assert not llm._snapshots._saved


def test_the_tool_judge_keeps_each_tool_sets_prompt() -> None:
    """Sessions with different tools alternate: the judge's context restores each one's
    prompt (it lists the tools) instead of evaluating it, and judges as a fresh context."""
    from antiphon.session.commands import Tool

    llm = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    demo = DemoTools().registry.schemas()
    own = [
        Tool("add_to_list", "Add an item to the user's shopping list.", {"type": "object"}),
        Tool("get_stock", "The current price of a stock.", {"type": "object"}),
    ]
    p_demo = llm.tool_probability("Turn on the kitchen lights.", demo)
    llm.tool_probability("Put milk on my list.", own)
    assert llm._judge is not None
    snaps = llm._judge.snapshots
    assert len(snaps._saved) == 2 and snaps.restored == 0
    again = llm.tool_probability("Turn on the kitchen lights.", demo)
    assert snaps.restored == 1
    assert again == pytest.approx(p_demo, abs=1e-3)
    fresh = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    assert fresh.tool_probability("Turn on the kitchen lights.", demo) == pytest.approx(
        p_demo, abs=1e-3
    )
    # the same tools, another message: the cached prefix is used, nothing restored
    llm.tool_probability("Dim the bedroom lights.", demo)
    assert snaps.restored == 1


def _reply(llm: ChatLLM, messages: list[Message]) -> str:
    text = "".join(llm.stream(messages, max_tokens=80, temperature=0.0))
    llm._thread.submit(lambda: None).result()  # the next turn's opening is evaluated and kept
    return text


def test_a_conversation_resumes_from_its_snapshot_after_another_sessions_turn() -> None:
    llm = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    plain = default_instructions("en")
    a = [Message("system", plain), Message("user", "What is the capital of France?")]
    a.append(Message("assistant", _reply(llm, a)))
    other = [Message("system", with_tool_guidance(plain, "en")), Message("user", "Hello!")]
    _reply(llm, other)  # another session's turn takes the context
    snaps = llm._snapshots
    restored = snaps.restored
    a.append(Message("user", "And what is the capital of Italy?"))
    tokens = llm._fit(a, [], 80)
    probs = _probs(llm, tokens)  # A's second turn: its history comes back from the snapshot
    assert snaps.restored == restored + 1
    kept = max(len(k) for k in snaps._saved if tokens[: len(k)] == list(k))
    assert kept > snaps.system_block(tokens) + 10  # more than the system block: the history
    # what a context that was never taken computes: the same first turn, then the second
    alone = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    assert _reply(alone, a[:2]) == a[2].content
    expected = _probs(alone, tokens)
    assert alone._snapshots.restored == 0
    assert int(probs.argmax()) == int(expected.argmax())
    assert float(np.abs(probs - expected).max()) < 1e-4


def test_snapshots_stay_within_their_byte_budget() -> None:
    llm = ChatLLM(smollm2_gguf(), n_threads=1, n_ctx=2048)
    snaps = llm._snapshots
    plain = default_instructions("en")
    _probs(llm, _prompt(llm, plain, [], "Hi"))
    one = snaps.saved_bytes
    assert one > 0
    snaps.budget_bytes = int(one * 2.5)
    for k in range(4):  # four other system prompts: the oldest snapshots go
        _probs(llm, _prompt(llm, f"{plain} (Session {k}.)", [], "Hi"))
        assert snaps.saved_bytes <= snaps.budget_bytes
    assert len(snaps._saved) == 2
