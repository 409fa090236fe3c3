"""The user's words, evaluated by the chat model while they are still speaking.

At the end of a turn three model passes wait on the user's words: the end-of-turn verdict
(the reply's own prompt up to the words), the tool judge (its own context, when the session
has tools) and the reply. Each evaluates the tokens its cache does not hold yet; with
nothing cached that is every word of the turn, and on 2 cores the three passes took
~0.9 s between the final transcript and the first reply token (bench quality through the
server, 2026-12-06). The live partial transcripts already say most of the words, so each
new partial is evaluated into both caches at the lowest urgency; at the end of the turn the
passes evaluate only what the final transcript changed (the prefix match is by token, so a
final that differs from the partial costs only its differing tail).

A pass is not interruptible (~0.25 s for each context on 2 cores), so the two contexts are
two jobs, and the head start stops when the user pauses: a final verdict then waits for at
most the one pass already running, never for a pass queued or begun after the speech
ended (measured in process, 2026-12-06: a partial that arrived just after the pause made
the final verdict wait ~0.3 s behind the judge's prefill, while the final decode shared
the two cores with it). Nor is there a head start while the model serves another session:
the one KV cache holds one prompt, so with several talkers the passes would only evict
each other's prompts."""

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
        if self._worker.busy() or self._worker.depth():
            # the model serves another session (or this one's reply): one KV cache holds one
            # prompt, so a head start here would evict theirs and be evicted before our turn
            # ends — every talker's passes would evaluate their whole history instead
            return
        self._job = self._track(self._prefill(messages, tools))

    def withdraw(self) -> None:
        """The user paused: the final transcript's passes come next; drop what has not run."""
        if self._job is not None and not self._job.done():
            self._job.cancel()  # a pass already running ends on its own; the next never starts

    async def _prefill(self, messages: list[Message], tools: Sequence[Tool]) -> None:
        llm = self._stack.llm
        if not isinstance(llm, ChatLLM) or not messages[-1].content.strip():
            return  # a remote LLM keeps no cache we can fill
        # behind every verdict, reply and final decode; withdrawn with the session (owner)
        urgency, owner = Urgency.BACKGROUND, self._owner
        await self._worker.call(_safely, self._stack.end_of_turn_probability, messages, tools,
                                urgency=urgency, owner=owner)  # fmt: skip
        if tools:
            await self._worker.call(_safely, llm.tool_probability, messages[-1].content, tools,
                                    urgency=urgency, owner=owner)  # fmt: skip


def _safely(fn: Callable[..., object], *args: object) -> None:
    """Run on the LLM worker. A failure only loses the head start: the turn goes on."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001 - an optimisation
        log.warning("prefilling the user's words failed: %s", exc)
