"""The user's words, evaluated by the chat model while they are still speaking.

At the end of a turn three model passes wait on the user's words: the end-of-turn verdict
(the reply's own prompt up to the words), the tool judge (its own context, when the session
has tools) and the reply. Each evaluates the tokens its cache does not hold yet; with
nothing cached that is every word of the turn, and on 2 cores the three passes took
~0.9 s between the final transcript and the first reply token (bench quality through the
server, 2026-12-06). The live partial transcripts already say most of the words, so each
new partial is evaluated into both caches at the lowest urgency; at the end of the turn the
passes evaluate only what the final transcript changed (the prefix match is by token, so a
final that differs from the partial costs only its differing tail)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from antiphon.cascade.conversation import Message
from antiphon.cascade.llm import ChatLLM
from antiphon.cascade.workers import ModelWorker, Urgency
from antiphon.session.commands import Tool

if TYPE_CHECKING:
    from antiphon.cascade.services import CascadeServices

log = logging.getLogger(__name__)


class WordPrefill:
    """One session's head start: the latest partial words go to the LLM worker, at most
    one pass in flight (a partial that comes while one runs is skipped: the next covers it)."""

    def __init__(
        self,
        stack: CascadeServices,
        worker: ModelWorker,
        owner: str,
        track: Callable[[Awaitable[None]], asyncio.Task[None]],
    ) -> None:
        self._stack, self._worker, self._owner, self._track = stack, worker, owner, track
        self._job: asyncio.Task[None] | None = None

    def offer(self, messages: list[Message], tools: Sequence[Tool]) -> None:
        if self._job is not None and not self._job.done():
            return
        self._job = self._track(
            self._worker.call(
                prefill_words,
                self._stack,
                messages,
                tools,
                urgency=Urgency.BACKGROUND,  # behind every verdict, reply and final decode
                owner=self._owner,  # withdrawn with the session
            )
        )


def prefill_words(stack: CascadeServices, messages: list[Message], tools: Sequence[Tool]) -> None:
    """Run on the LLM worker: ``messages`` end with the user's words so far. A remote LLM
    keeps no cache we can fill (nothing to do); a failure only loses the head start."""
    llm = stack.llm
    if not isinstance(llm, ChatLLM) or not messages[-1].content.strip():
        return
    try:
        stack.end_of_turn_probability(messages, tools)  # the reply's prompt, up to the words
        if tools:
            llm.tool_probability(messages[-1].content, tools)
    except Exception as exc:  # noqa: BLE001 - an optimisation: the turn goes on without it
        log.warning("prefilling the user's words failed: %s", exc)
