"""One agent response: LLM tokens → tool calls / phrases → TTS → paced audio.

Each stage starts as soon as it has input: the LLM streams in a worker thread, the first
phrase goes to TTS after a few words, and audio leaves while the LLM is still writing.
A response can be speculative (started before the end of the user's turn is confirmed);
its states, its one cancel path and what the user heard of it are the ResponseHandle's
(response.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from antiphon.agent.persona import with_tool_guidance
from antiphon.agent.toolcall import MalformedToolCall, ParsedPiece, ToolCallParser, ToolCallRequest
from antiphon.audio.io import resample
from antiphon.audio.silence import trim_edges
from antiphon.cascade.conversation import Conversation, Message
from antiphon.cascade.llm_engine import HUNGRY_S
from antiphon.cascade.phrases import PhraseChunker, PhraseEnd, phrase_end
from antiphon.cascade.response import ResponseHandle
from antiphon.cascade.services import CascadeServices
from antiphon.cascade.stack import SessionTools
from antiphon.cascade.workers import Urgency, workers_of
from antiphon.session.brain import BrainContext
from antiphon.session.commands import SpeakingStyle, Tool, ToolChoice
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    ToolCall,
    ToolResultSpoken,
)

# silence kept before a phrase's speech, and after it by where the phrase ends (a sentence
# keeps what the synthesizer made)
PHRASE_LEAD_MS = 10.0
PHRASE_TAIL_MS = {PhraseEnd.WORD: 40.0, PhraseEnd.CLAUSE: 120.0}
# a later phrase is cut at the next whole word once less than this much of the response's
# audio is left to play: time for its synthesis (~0.1 s for a few words on one thread)
# before the listener would hear a gap
DRY_LEAD_S = 0.35


def phrase_audio(audio: np.ndarray, rate: int, phrase: str) -> np.ndarray:
    """A synthesized phrase as it is spoken. piper frames each phrase with silence (~40 ms
    before, ~150 ms after): before the first phrase it is latency, and after a phrase cut
    between words (the first two words of a reply) a pause inside the clause. Trimmed, a
    pause remains only where the next phrase comes late, and then it is no longer than it
    was; after a comma a short one, between sentences piper's own."""
    tail_ms = PHRASE_TAIL_MS.get(phrase_end(phrase))
    trimmed = trim_edges(audio, rate, PHRASE_LEAD_MS, tail_ms)
    return trimmed if trimmed.size else audio  # (all quiet: left as synthesized)


def llm_prompt(
    conv: Conversation,
    instructions: str | None,
    extra: list[Message],
    tools: list[Tool],
    language: str,
) -> list[Message]:
    """The messages a reply is generated from (and the end-of-turn probability read off,
    so both share the KV cache). A session without tools never hears of them."""
    messages = conv.for_llm(instructions) + extra
    if tools:
        messages[0] = Message("system", with_tool_guidance(messages[0].content, language))
    return messages


@dataclass
class ResponsePlan:
    """What to say: generate from the conversation, or speak fixed text."""

    extra_messages: list[Message] = field(default_factory=list)
    fixed_text: str | None = None
    instructions: str | None = None


class Responder(ResponseHandle):
    """A response generated from the conversation (or fixed text): LLM pieces → phrases →
    TTS; its life (gate, cancel, what was heard) is the ResponseHandle's."""

    def __init__(
        self,
        ctx: BrainContext,
        stack: CascadeServices,
        conversation: Conversation,
        style: Callable[[], SpeakingStyle],
        plan: ResponsePlan,
        tools: SessionTools,
        speculative: bool = False,
        t_ref: float | None = None,
    ) -> None:
        sep = "" if stack.config.language == "zh" else " "
        super().__init__(ctx, conversation, sep, speculative, t_ref)
        self.stack, self.style, self.plan, self.tools = stack, style, plan, tools
        self.workers = workers_of(stack)
        self._llm_may_run = threading.Event()  # the LLM pauses while the first phrase is made
        self._llm_may_run.set()

    async def _produce(self) -> None:
        if self.plan.fixed_text is not None:
            await self._speak_text(self.plan.fixed_text)
        else:
            await self._generate()

    def _on_cancel(self) -> None:
        self._llm_may_run.set()

    # ---- generation ------------------------------------------------------------------
    async def _speak_text(self, text: str) -> None:
        chunker = PhraseChunker(first_words=self.stack.config.first_phrase_words)
        for phrase in [*chunker.push(text), *chunker.flush()]:
            await self._speak(phrase)

    async def _speak(self, phrase: str) -> None:
        if not phrase.strip() or self.cancelled.is_set():
            return
        style = self.style()
        first = not self.phrases
        if first:
            self._llm_may_run.clear()
        # the first phrase is urgent (the user waits in silence); a later one is due when
        # the audio already made for this response runs out
        ahead_s = self.audio_lead_s()
        # (protect_playing: a later phrase whose audio is about to run out goes before other
        # sessions' first phrases; they wait in silence, this listener would hear a gap)
        dry = not first and self.stack.config.llm_protect_playing and ahead_s < HUNGRY_S
        try:
            audio = await self.workers.tts.call(
                self.stack.synthesize,
                phrase,
                style,
                urgency=Urgency.GATE if dry else Urgency.NOW if first else Urgency.SOON,
                deadline=time.monotonic() + (0.0 if first else ahead_s),
                owner=self.response_id,
            )
        finally:
            self._llm_may_run.set()
        if self.cancelled.is_set():
            return
        audio = resample(
            phrase_audio(audio, self.stack.tts_rate, phrase),
            self.stack.tts_rate,
            self.ctx.output_rate,
        )
        dur_ms = len(audio) * 1000.0 / self.ctx.output_rate
        delta = self.add_phrase(phrase.strip(), dur_ms)
        self.mark("tts_first_audio_ms")
        await self.emit(AgentTextDelta(self.response_id, self.item_id, delta))
        await self.emit(AudioChunk(self.response_id, self.item_id, audio, self.ctx.output_rate))

    async def _generate(self) -> None:
        for _round in range(self.stack.config.max_tool_rounds + 1):
            # extra holds the user's words until the turn is committed (speculation)
            # after a tool result, small models tend to call the same tool again: the
            # follow-up pass must speak (tools stay in the prompt, so the KV cache holds)
            # (a client tool's result arrives as the last message before this response)
            after_tool = bool(self.conv.messages) and self.conv.messages[-1].role == "tool"
            choice: ToolChoice = (
                self.tools.tool_choice if _round == 0 and not after_tool else "none"
            )
            call = await self._stream_once(self.plan.extra_messages, choice)
            if call is None:
                if (_round or after_tool) and not self.text.strip():
                    await self._speak_text(self.stack.done_text())  # never silence after a tool
                return
            await self.wait_released()  # never act on a tool call of a speculation
            if isinstance(call, MalformedToolCall):
                await self.ctx.emit(ErrorEvent("tool_call_malformed", call.error))
                await self._speak_text(self.stack.fallback_text())
                return
            await self.emit(
                ToolCall(
                    self.response_id, self.item_id, call.call_id, call.name, call.arguments_json
                )
            )
            assistant_call = Message("assistant", "", tool_calls=(call,))
            if not self.tools.is_local(call.name):
                if self.tools.is_client(call.name):
                    self.conv.add(assistant_call)  # the client runs it and sends the result
                    self.awaiting_client_tool = True
                    return
                await self.ctx.emit(
                    ErrorEvent("unknown_tool", f"the model called unknown tool {call.name!r}")
                )
                await self._speak_text(self.stack.fallback_text())
                return
            output = await self._run_tool(call)
            await self.ctx.emit(ToolResultSpoken(call.call_id, call.name, output))
            tool_msg = Message("tool", output, tool_call_id=call.call_id, name=call.name)
            self.conv.add(assistant_call)
            self.conv.add(tool_msg)
        await self._speak_text(self.stack.fallback_text())

    async def _run_tool(self, call: ToolCallRequest) -> str:
        run = asyncio.create_task(asyncio.to_thread(self.tools.run, call.name, call.arguments_json))
        if self.tools.is_slow(call.name) and not self.phrases:
            await self._speak_text(self.stack.filler_text())
        return await run

    def _audio_lead(self) -> float | None:
        """Seconds of this response's audio queued ahead of its listener (None: none yet);
        read from the LLM engine's thread."""
        if not self.phrases:
            return None
        return self.audio_lead_s()

    async def _stream_once(
        self, extra: list[Message], tool_choice: ToolChoice
    ) -> ToolCallRequest | MalformedToolCall | None:
        """One LLM pass: speak its text as it streams; stop at the first tool call."""
        tools = self.tools.schemas()
        messages = llm_prompt(
            self.conv, self.plan.instructions, extra, tools, self.stack.config.language
        )
        stop = threading.Event()  # this pass only; self.cancelled stops the whole response

        # the LLM runs on its worker's thread; between two pieces it waits (there, never in
        # a shared pool) while the first phrase is synthesized: on 2 cores the first audio
        # comes sooner when TTS has the CPU to itself
        pieces = self.workers.llm.stream(
            lambda: self.stack.llm_stream(
                messages,
                tools,
                lambda: stop.is_set() or self.cancelled.is_set(),
                tool_choice,
            ),
            stop,
            urgency=Urgency.NOW if not self.phrases else Urgency.SOON,
            owner=self.response_id,
            # (not while other sessions wait for the LLM: their first words come first)
            between=lambda: self._llm_may_run.wait(0.0 if self.workers.llm.depth() else 2.0),
            lead=self._audio_lead,  # the batched engine serves the hungriest replies first
        )
        parser = ToolCallParser()
        chunker = PhraseChunker(first_words=self.stack.config.first_phrase_words)
        found: ToolCallRequest | MalformedToolCall | None = None
        try:
            async for piece in pieces:
                self.mark("llm_first_token_ms")
                found = await self._consume(parser.feed(piece), chunker, found)
                if parser.calling and not self.phrases:
                    # writing the call's JSON takes the small model a second or more, and
                    # the answer needs a second pass after the tool: no dead air meanwhile
                    await self._speak_text(self.stack.filler_text())
                if found is not None:
                    stop.set()  # one call per pass: the rest of the generation is not needed
            found = await self._consume(parser.finish(), chunker, found)
            for phrase in chunker.flush():
                await self._speak(phrase)
            self.raw_text += parser.text
        finally:
            stop.set()
            await pieces.aclose()  # withdraws the pass if it has not started
        return found

    async def _consume(
        self,
        items: list[ParsedPiece],
        chunker: PhraseChunker,
        found: ToolCallRequest | MalformedToolCall | None,
    ) -> ToolCallRequest | MalformedToolCall | None:
        for item in items:
            if isinstance(item, str):
                # audio about to run out: speak the words there are rather than leave a gap
                dry = bool(self.phrases) and self.audio_lead_s() < DRY_LEAD_S
                for phrase in chunker.push(item, running_dry=dry):
                    await self._speak(phrase)
            elif found is None:
                found = item
        return found
