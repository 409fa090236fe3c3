"""The user's words evaluated while they speak (cascade/word_prefill.py): at the end of the
turn the verdict evaluates only what the final transcript added, with the same result; and
a pause stops the head start, so the final passes never wait behind a queued prefill."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from antiphon.cascade.llm import ChatLLM, Message
from antiphon.cascade.word_prefill import WordPrefill
from antiphon.cascade.workers import ModelWorker
from antiphon.session.commands import Tool

TOOLS = [Tool("get_time", "Tell the current time.")]


def _prompt(words: str) -> list[Message]:
    return [Message("system", "You are a helpful voice assistant."), Message("user", words)]


async def _prefill(
    stack: Any,
    words: str,
    withdraw_when: threading.Event | None = None,
    worker: ModelWorker | None = None,
) -> None:
    """One live partial offered to a session's WordPrefill on a real worker thread (its own
    unless ``worker`` is given); with ``withdraw_when``, the user pauses once that event is
    set (the first pass has begun)."""
    own = worker is None
    worker = worker or ModelWorker("llm")
    jobs: list[asyncio.Task[None]] = []

    def track(aw: Awaitable[None]) -> asyncio.Task[None]:
        jobs.append(asyncio.ensure_future(aw))
        return jobs[-1]

    prefill = WordPrefill(stack, worker, "session", track)
    try:
        prefill.offer(_prompt(words), TOOLS)
        if withdraw_when is not None:
            await asyncio.to_thread(withdraw_when.wait, 5.0)
            prefill.withdraw()
        await asyncio.gather(*jobs, return_exceptions=True)
    finally:
        if own:
            worker.close()


@pytest.mark.models
def test_partial_words_leave_only_the_tail_to_evaluate(stack) -> None:  # type: ignore[no-untyped-def]
    llm = stack.llm
    final = _prompt("What is the capital of France?")
    stack.end_of_turn_probability(_prompt("Something else entirely, to clear the cache."), TOOLS)
    cold = stack.end_of_turn_probability(final, TOOLS)
    p_tool_cold = llm.tool_probability(final[-1].content, TOOLS)

    stack.end_of_turn_probability(_prompt("Something else entirely, to clear the cache."), TOOLS)
    llm.tool_probability("Something else entirely.", TOOLS)
    asyncio.run(_prefill(stack, "What is the capital of"))  # a live partial
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


class _CountingChat(ChatLLM):
    """Stands in for the chat model's two caches: counts the judge's prefills."""

    def __init__(self) -> None:  # no model: only the calls are counted
        self.judged: list[str] = []

    def tool_probability(self, user_text: str, tools: Sequence[Tool]) -> float:
        self.judged.append(user_text)
        return 0.0


def _stack(release: threading.Event, started: threading.Event) -> Any:
    def verdict(messages: list[Message], tools: Sequence[Tool]) -> float:
        started.set()
        release.wait(5.0)  # the pass is running when the user pauses
        return 0.5

    return SimpleNamespace(llm=_CountingChat(), end_of_turn_probability=verdict)


def test_both_caches_are_prefilled_while_the_user_speaks() -> None:
    release, started = threading.Event(), threading.Event()
    release.set()
    stack = _stack(release, started)
    asyncio.run(_prefill(stack, "What is the capital of"))
    assert started.is_set() and stack.llm.judged == ["What is the capital of"]


def test_a_pause_drops_the_prefill_that_has_not_started() -> None:
    release, started = threading.Event(), threading.Event()
    stack = _stack(release, started)

    async def main() -> None:
        done = asyncio.ensure_future(_prefill(stack, "What is the capital of", started))
        await asyncio.sleep(0.2)
        release.set()  # the running verdict pass ends on its own
        await done

    asyncio.run(main())
    assert started.is_set() and stack.llm.judged == []  # the judge's pass never ran


def test_no_head_start_while_the_model_serves_someone_else() -> None:
    release, started = threading.Event(), threading.Event()
    release.set()
    stack = _stack(release, started)

    async def main() -> None:
        worker = ModelWorker("llm")
        other = threading.Event()
        try:
            busy = asyncio.ensure_future(worker.call(other.wait, 5.0, owner="another session"))
            await asyncio.sleep(0.1)  # the other session's pass is running
            offered = asyncio.ensure_future(
                _prefill(stack, "What is the capital of", worker=worker)
            )
            await asyncio.sleep(0.1)
            other.set()
            await busy
            await offered
        finally:
            worker.close()

    asyncio.run(main())
    assert not started.is_set() and stack.llm.judged == []
