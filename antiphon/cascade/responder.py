"""One agent response: LLM tokens → tool calls / phrases → TTS → paced audio.

Each stage starts as soon as it has input: the LLM streams in a worker thread, the first
phrase goes to TTS after a few words, and audio leaves while the LLM is still writing.
A response can be speculative (started before the end of the user's turn is confirmed):
then its events are held behind a gate and dropped without a trace if it is cancelled.
On barge-in, `interrupt` stops everything at once and returns the text the user heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from antiphon.agent.persona import with_tool_guidance
from antiphon.agent.toolcall import MalformedToolCall, ParsedPiece, ToolCallParser, ToolCallRequest
from antiphon.audio.io import resample
from antiphon.cascade.conversation import Conversation, Message, heard_text
from antiphon.cascade.phrases import PhraseChunker
from antiphon.cascade.stack import CascadeStack, SessionTools
from antiphon.cascade.workers import Urgency, workers_of
from antiphon.session.brain import BrainContext
from antiphon.session.commands import SpeakingStyle, Tool, ToolChoice
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    Event,
    Metrics,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    ToolResultSpoken,
)


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
class _Spoken:
    text: str
    start_ms: float
    dur_ms: float


@dataclass
class ResponsePlan:
    """What to say: generate from the conversation, or speak fixed text."""

    extra_messages: list[Message] = field(default_factory=list)
    fixed_text: str | None = None
    instructions: str | None = None


class Responder:
    def __init__(
        self,
        ctx: BrainContext,
        stack: CascadeStack,
        conversation: Conversation,
        style: Callable[[], SpeakingStyle],
        plan: ResponsePlan,
        tools: SessionTools,
        speculative: bool = False,
        t_ref: float | None = None,
    ) -> None:
        self.ctx, self.stack, self.conv, self.style, self.plan = (
            ctx,
            stack,
            conversation,
            style,
            plan,
        )
        self.tools = tools
        self.workers = workers_of(stack)
        self.response_id = "resp_" + uuid.uuid4().hex[:12]
        self.item_id = "item_" + uuid.uuid4().hex[:12]
        self.gate = asyncio.Event()
        if not speculative:
            self.gate.set()
        self._held: list[Event] = []
        self._cancel = threading.Event()
        self._llm_may_run = threading.Event()
        self._llm_may_run.set()
        self._raw_text = ""  # the model's own words, so the next turn reuses the KV cache
        self._spoken: list[_Spoken] = []
        self._audio_ms = 0.0
        self._started = False
        self._metrics_sent = False
        self._send_lock = asyncio.Lock()
        self._done = False
        self.text = ""
        self.awaiting_client_tool = False
        self.truncate_at_ms: int | None = None
        self.metrics: dict[str, float] = {}
        self._t_ref = t_ref  # clock time of the user's end of speech, for metrics
        self.task: asyncio.Task[None] | None = None
        self.generated = asyncio.Event()  # all compute finished (audio may still be playing)

    @property
    def finished(self) -> bool:
        """ResponseDone has been emitted (or the response was dropped)."""
        return self._done

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"respond-{self.response_id}")

    def open_gate(self, metrics: dict[str, float] | None = None) -> None:
        """The end of turn is confirmed: release what the speculation prepared, now."""
        self.metrics.update(metrics or {})
        self.gate.set()
        asyncio.ensure_future(self._emit(None))

    async def _emit(self, event: Event | None) -> None:
        """Send an event, or hold it while the response is still a speculation."""
        if not self.gate.is_set():
            if event is not None:
                self._held.append(event)
            return
        async with self._send_lock:  # the gate opener and the task both flush: keep order
            held, self._held = self._held, []
            for ev in [*held, *([event] if event is not None else [])]:
                await self._send(ev)

    async def _send(self, event: Event) -> None:
        if not self._started:
            self._started = True
            await self.ctx.emit(ResponseStarted(self.response_id, self.item_id))
        if isinstance(event, AudioChunk) and not self._metrics_sent:
            self._metrics_sent = True
            self._mark("first_audio_out_ms")
            await self.ctx.emit(Metrics(self.response_id, dict(self.metrics)))
        await self.ctx.emit(event)

    def _mark(self, name: str) -> None:
        if self._t_ref is not None and name not in self.metrics:
            self.metrics[name] = (self.ctx.clock.now() - self._t_ref) * 1000.0

    async def _run(self) -> None:
        try:
            if self.plan.fixed_text is not None:
                await self._speak_text(self.plan.fixed_text)
            else:
                await self._generate()
            self.generated.set()
            await self.gate.wait()
            await self._emit(None)
            while self.ctx.is_playing() and self._has_pending_audio():
                await self.ctx.clock.sleep(0.02)
            await self._finish("completed", None)
        except asyncio.CancelledError:
            self.generated.set()
            raise
        except Exception as exc:  # a broken stage ends this response, not the session
            self.generated.set()
            code = getattr(exc, "code", None)  # e.g. RemoteLLMError: llm_unavailable, llm_timeout
            await self._emit(
                ErrorEvent(
                    code if isinstance(code, str) else "response_failed", f"response failed: {exc}"
                )
            )
            await self.gate.wait()  # a failed speculation that is dropped says nothing
            await self._finish("failed", str(exc))

    def _has_pending_audio(self) -> bool:
        return self.ctx.heard_ms(self.response_id) + 30 < self._audio_ms

    async def _finish(self, status: str, reason: str | None) -> None:
        if self._done:
            return
        self._done = True
        if not self.gate.is_set():
            return  # a speculation that never became a response leaves no trace
        if self.text and not self.awaiting_client_tool:
            said = self._raw_text.strip() or self.text
            if self.truncate_at_ms is not None:  # the client stopped playback early
                said = heard_text(self._timeline(), self.truncate_at_ms, self._sep())
            self.conv.add(Message("assistant", said), self.item_id, self._timeline())
        await self.ctx.emit(
            ResponseDone(self.response_id, self.item_id, status, reason, self.text)  # type: ignore[arg-type]
        )

    async def cancel_silently(self) -> None:
        """Drop a speculative response (the user kept talking)."""
        self._done = True
        await self._stop_tasks()

    async def interrupt(self, reason: str) -> str:
        """Barge-in or client cancel: stop output now, keep only what was heard."""
        self.ctx.flush_output(self.response_id)
        heard_ms = self.ctx.heard_ms(self.response_id)
        await self._stop_tasks()
        heard = heard_text(self._timeline(), heard_ms, self._sep())
        if not self._done:
            self._done = True
            if self.gate.is_set():
                if heard:
                    self.conv.add(Message("assistant", heard + "…"), self.item_id, self._timeline())
                await self.ctx.emit(
                    ResponseDone(
                        self.response_id, self.item_id, "cancelled", reason, heard, heard_ms
                    )
                )
        return heard

    async def _stop_tasks(self) -> None:
        self._cancel.set()
        self._llm_may_run.set()
        if self.task and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _wait_for_gate(self) -> None:
        """Idle (not computing) until the turn is confirmed; `generated` tells settle()."""
        if self.gate.is_set():
            return
        self.generated.set()
        await self.gate.wait()
        self.generated.clear()

    def _audio_lead(self) -> float | None:
        """Seconds of this response's audio queued ahead of its listener (None: none yet);
        read from the LLM engine's thread."""
        if not self._spoken:
            return None
        return max(0.0, self._audio_ms - self.ctx.heard_ms(self.response_id)) / 1000.0

    def _timeline(self) -> list[tuple[str, float, float]]:
        return [(x.text, x.start_ms, x.dur_ms) for x in self._spoken]

    def _sep(self) -> str:
        return "" if self.stack.config.language == "zh" else " "

    # ---- generation ------------------------------------------------------------------
    async def _speak_text(self, text: str) -> None:
        chunker = PhraseChunker(first_words=self.stack.config.first_phrase_words)
        for phrase in [*chunker.push(text), *chunker.flush()]:
            await self._speak(phrase)

    async def _speak(self, phrase: str) -> None:
        if not phrase.strip() or self._cancel.is_set():
            return
        style = self.style()
        first = not self._spoken
        if first:
            self._llm_may_run.clear()
        # the first phrase is urgent (the user waits in silence); a later one is due when
        # the audio already made for this response runs out
        ahead_s = max(0.0, self._audio_ms - self.ctx.heard_ms(self.response_id)) / 1000.0
        try:
            audio = await self.workers.tts.call(
                self.stack.synthesize,
                phrase,
                style,
                urgency=Urgency.NOW if first else Urgency.SOON,
                deadline=time.monotonic() + (0.0 if first else ahead_s),
                owner=self.response_id,
            )
        finally:
            self._llm_may_run.set()
        if self._cancel.is_set():
            return
        audio = resample(audio, self.stack.tts_rate, self.ctx.output_rate)
        dur_ms = len(audio) * 1000.0 / self.ctx.output_rate
        sep = self._sep() if self.text else ""
        self.text += sep + phrase.strip()
        self._spoken.append(_Spoken(phrase.strip(), self._audio_ms, dur_ms))
        self._audio_ms += dur_ms
        self._mark("tts_first_audio_ms")
        await self._emit(AgentTextDelta(self.response_id, self.item_id, sep + phrase.strip()))
        await self._emit(AudioChunk(self.response_id, self.item_id, audio, self.ctx.output_rate))

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
            await self._wait_for_gate()  # never act on a tool call of a speculation
            if isinstance(call, MalformedToolCall):
                await self.ctx.emit(ErrorEvent("tool_call_malformed", call.error))
                await self._speak_text(self.stack.fallback_text())
                return
            await self._emit(
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
        if self.tools.is_slow(call.name) and not self._spoken:
            await self._speak_text(self.stack.filler_text())
        return await run

    async def _stream_once(
        self, extra: list[Message], tool_choice: ToolChoice
    ) -> ToolCallRequest | MalformedToolCall | None:
        """One LLM pass: speak its text as it streams; stop at the first tool call."""
        tools = self.tools.schemas()
        messages = llm_prompt(
            self.conv, self.plan.instructions, extra, tools, self.stack.config.language
        )
        stop = threading.Event()  # this pass only; self._cancel stops the whole response

        # the LLM runs on its worker's thread; between two pieces it waits (there, never in
        # a shared pool) while the first phrase is synthesized: on 2 cores the first audio
        # comes sooner when TTS has the CPU to itself
        pieces = self.workers.llm.stream(
            lambda: self.stack.llm_stream(
                messages,
                tools,
                lambda: stop.is_set() or self._cancel.is_set(),
                tool_choice,
            ),
            stop,
            urgency=Urgency.NOW if not self._spoken else Urgency.SOON,
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
                self._mark("llm_first_token_ms")
                found = await self._consume(parser.feed(piece), chunker, found)
                if parser.calling and not self._spoken:
                    # writing the call's JSON takes the small model a second or more, and
                    # the answer needs a second pass after the tool: no dead air meanwhile
                    await self._speak_text(self.stack.filler_text())
                if found is not None:
                    stop.set()  # one call per pass: the rest of the generation is not needed
            found = await self._consume(parser.finish(), chunker, found)
            for phrase in chunker.flush():
                await self._speak(phrase)
            self._raw_text += parser.text
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
                for phrase in chunker.push(item):
                    await self._speak(phrase)
            elif found is None:
                found = item
        return found
