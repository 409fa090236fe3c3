"""The cascade brain: VAD + end of turn → ASR → LLM → TTS, with barge-in.

Input arrives in 32 ms chunks at 16 kHz. Cheap decisions (VAD, turn state) run inline;
model calls run on the models' worker threads. The parts, each with its own state:
the user's turn (``TurnController``: LISTENING / SPEAKING / PAUSED / ENDING), the agent's
response (``ResponseHandle``: GATED / SPEAKING / DONE / INTERRUPTED / DROPPED), speech
over the agent's (``OverlapGlue``), client commands (``ClientCommands``) and the manual
buffer. This class routes each chunk, starts responses and owns the background tasks.
See docs/architecture.md for the timeline of a turn.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

import numpy as np

from antiphon.audio.frames import Framer
from antiphon.cascade.brain_bounds import ManualBuffer, trim_conversation
from antiphon.cascade.brain_commands import ClientCommands
from antiphon.cascade.brain_overlap import OverlapGlue
from antiphon.cascade.conversation import Conversation, Message
from antiphon.cascade.overlap import Overlap
from antiphon.cascade.responder import Responder, ResponsePlan, llm_prompt
from antiphon.cascade.response import ResponseState
from antiphon.cascade.services import CascadeServices
from antiphon.cascade.stack import SessionTools
from antiphon.cascade.turn_controller import FinishedTurn, TurnController, TurnState
from antiphon.cascade.turns import RecentAudio, TurnCandidate
from antiphon.cascade.vad import SileroVAD, VADSegmenter
from antiphon.cascade.word_prefill import WordPrefill
from antiphon.cascade.workers import workers_of
from antiphon.session.brain import BrainContext
from antiphon.session.commands import Command, SpeakingStyle, Tool, TurnDetection
from antiphon.session.events import ErrorEvent, StyleChanged

T = TypeVar("T")
log = logging.getLogger("antiphon.cascade")
CHUNK = SileroVAD.CHUNK


class CascadeBrain:
    input_rate = 16000

    def __init__(self, stack: CascadeServices, instructions: str | None = None) -> None:
        self.stack = stack
        self.cfg = stack.config
        self.tools = SessionTools(stack)
        self.workers = workers_of(stack)
        self.session_id = "sess_" + uuid.uuid4().hex[:12]  # owner of this session's model jobs
        self.conv = Conversation(
            instructions or stack.default_instructions(), language=stack.config.language
        )
        self.style = SpeakingStyle()
        self.td: TurnDetection | None = TurnDetection()
        self.responder: Responder | None = None
        self._framer = Framer(CHUNK)
        self._recent = RecentAudio(max_chunks=10)  # 320 ms of prefix
        self._jobs: set[asyncio.Future[object]] = set()
        self._last_failure: BaseException | None = None
        self._prefill = WordPrefill(self.stack, self.workers.llm, self.session_id, self.track)
        self._commands = ClientCommands(self)

    # ---- Brain protocol ----------------------------------------------------------------
    async def start(self, ctx: BrainContext) -> None:
        self.ctx = ctx
        self.vad = self.stack.new_vad()
        self.seg = VADSegmenter(min_speech_ms=96, min_silence_ms=64)
        self.manual = ManualBuffer(ctx.emit)
        self.turn = TurnController(
            ctx,
            self.stack,
            self.workers,
            self.session_id,
            self.track,
            self._prompt_with,
            self._turn_finished,
        )
        self.turn.speculate = self._speculate
        self.turn.drop_speculation = self._drop_speculation
        self.turn.on_partial = lambda words: self._prefill.offer(*self._prompt_with(words))
        self.turn.on_pause = self._prefill.withdraw
        self.overlap = OverlapGlue(
            ctx,
            lambda audio: self.track(self.turn.transcribe(audio)),
            self.cfg.far_speech_db,
            self.cfg.hold_on_overlap,
        )
        self._last_audio_t = ctx.clock.now()
        self._watchdog = asyncio.create_task(self._watch_input(), name="input-watchdog")

    async def push_audio(self, frame: np.ndarray) -> None:
        self._last_audio_t = self.ctx.clock.now()
        for chunk in self._framer.push(frame):
            await self._on_chunk(chunk)
        await self._speak_due_timers()

    async def handle(self, command: Command) -> None:
        await self._commands.handle(command)

    async def settle(self) -> None:
        while True:
            pending = [j for j in self._jobs if not j.done()]
            r = self.responder
            if r is not None and not r.generated.is_set():
                pending.append(asyncio.ensure_future(r.generated.wait()))
            if not pending:
                return
            await asyncio.wait(pending)

    async def close(self) -> None:
        self._watchdog.cancel()
        if self.responder is not None:
            await self.responder.cancel(announce=False)
        self.turn.close()
        for job in list(self._jobs):
            job.cancel()

    # ---- per chunk ---------------------------------------------------------------------
    async def _on_chunk(self, chunk: np.ndarray) -> None:
        if self.td is None:
            await self.manual.push(chunk)
            return
        event = self.seg.push(self.vad.prob(chunk))
        self.overlap.push(chunk)
        if self.agent_active() and self.td.interrupt_response:
            agent_text = self.responder.text if self.responder is not None else ""
            ov = self.overlap.on_chunk(chunk, event, self.seg, self._recent, self.td, agent_text)
            if ov is not None:
                await self._barge_in(ov)
        else:
            self.overlap.quiet()
            await self.turn.on_chunk(
                chunk, event, self.seg, self.td, self._recent, self.overlap.heard
            )
        self._recent.push(chunk)

    def agent_active(self) -> bool:
        """The agent is talking: a released response not over, or its audio still plays."""
        r = self.responder
        if r is None or r.state is ResponseState.GATED:
            return False
        if not r.active():  # over, and its last audio has played
            self.responder = None
            return False
        return True

    async def _barge_in(self, ov: Overlap) -> None:
        await self.cancel_response("turn_detected")
        self.overlap.interrupted()
        await self.turn.open_from_overlap(ov)

    async def _watch_input(self) -> None:
        """A client that stops sending in the middle of a turn: end the turn with what came
        (TurnController.on_stall)."""
        while True:
            await self.ctx.clock.sleep(0.25)
            idle = self.ctx.clock.now() - self._last_audio_t
            if idle >= self.cfg.input_stall_s and self.td is not None:
                try:
                    await self.turn.on_stall(idle, self.seg, self.td)
                except Exception as exc:  # the watcher lives on; the turn is reset
                    self._failed(exc)

    # ---- the user's turn, seen from the responses ---------------------------------------
    def _prompt_with(self, words: str) -> tuple[list[Message], list[Tool]]:
        """The reply's prompt if the user's turn were ``words``, and the session's tools."""
        tools, lang = self.tools.schemas(), self.cfg.language
        return llm_prompt(self.conv, None, [Message("user", words)], tools, lang), tools

    async def _speculate(self, cand: TurnCandidate) -> None:
        """A paused turn's reply, started before the end of the turn is confirmed."""
        if not self.cfg.speculative or self.td is None or not self.td.create_response:
            return
        assert cand.asr is not None
        text = await cand.asr
        if cand.words is not None:
            # the words' verdict first: it evaluates the user's words, which the reply's
            # prompt shares, so the reply then evaluates only its header
            await asyncio.wait([cand.words])
        if (
            self.turn.candidate is not cand
            or not text
            or self.stack.style_request(text, self.style)
        ):
            return
        if self.responder is None:
            self.responder = self._new_responder(
                ResponsePlan(extra_messages=[Message("user", text)]),
                speculative=True,
                t_ref=cand.speech_end_t,
            )
            self.responder.start()

    async def _drop_speculation(self) -> None:
        r = self.responder
        if r is not None and r.state is ResponseState.GATED:
            self.responder = None
            await r.cancel()

    async def _turn_finished(self, turn: FinishedTurn) -> None:
        """The user's turn is over and its transcript sent: release the speculation, or
        start the response it calls for, or none."""
        r = self.responder
        speculation = r if r is not None and r.state is ResponseState.GATED else None
        if not turn.text:
            await self._drop_speculation()
            return
        self.conv.add(Message("user", turn.text), turn.item)
        await trim_conversation(self.conv, self.ctx.emit)
        self.overlap.note_level(turn.levels)
        new_style = self.stack.style_request(turn.text, self.style)
        if new_style is not None:
            await self._drop_speculation()
            self.style = new_style
            await self.ctx.emit(StyleChanged(new_style.speed, new_style.volume, new_style.pitch))
            plan = ResponsePlan(fixed_text=self.stack.style_ack(turn.text))
            self.respond(plan, turn.speech_end_t, turn.metrics)
            return
        if self.td is not None and not self.td.create_response:
            await self._drop_speculation()
            return
        if speculation is not None and speculation is self.responder:
            speculation.plan.extra_messages.clear()  # the user message is now in the conversation
            speculation.release(turn.metrics)
        else:
            self.respond(ResponsePlan(), turn.speech_end_t, turn.metrics)

    # ---- responses ----------------------------------------------------------------------
    def _new_responder(
        self, plan: ResponsePlan, speculative: bool = False, t_ref: float | None = None
    ) -> Responder:
        return Responder(
            self.ctx,
            self.stack,
            self.conv,
            lambda: self.style,
            plan,
            self.tools,
            speculative=speculative,
            t_ref=t_ref,
        )

    def respond(
        self,
        plan: ResponsePlan,
        t_ref: float | None = None,
        metrics: dict[str, float] | None = None,
    ) -> None:
        self.responder = self._new_responder(plan, t_ref=t_ref)
        self.responder.metrics.update(metrics or {})
        self.responder.start()

    async def cancel_response(self, reason: str) -> bool:
        """Barge-in or the client's cancel: stop the agent's response, keeping only what
        was heard. False when no response is active."""
        r = self.responder
        if r is None or not self.agent_active():
            return False
        self.responder = None
        await r.cancel(reason)
        return True

    async def _speak_due_timers(self) -> None:
        due = self.tools.due_reminders()
        if due and not self.agent_active() and self.turn.state is TurnState.LISTENING:
            self.respond(ResponsePlan(fixed_text=" ".join(due)))

    # ---- background tasks -----------------------------------------------------------------
    def track(self, aw: Awaitable[T]) -> asyncio.Task[T]:
        """Run ``aw`` as this session's background task: settle() waits for it, close()
        cancels it, and its failure resets the turn with an error event."""
        task: asyncio.Task[T] = asyncio.ensure_future(aw)
        self._jobs.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._job_done)  # type: ignore[arg-type]
        return task

    def _job_done(self, task: asyncio.Future[object]) -> None:
        """A background task that failed becomes a log line, an error event and a clean
        turn reset (an ASR that raised used to leave the turn stuck, silently)."""
        self._jobs.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        if exc is self._last_failure:  # the same failure seen again by a task awaiting it
            return
        self._last_failure = exc
        log.error("session %s: background task failed", self.session_id, exc_info=exc)
        self.turn.reset()
        self.seg.reset()
        # a speculation on the failed turn must not become the next turn's reply
        asyncio.ensure_future(self._drop_speculation())
        asyncio.ensure_future(
            self.ctx.emit(
                ErrorEvent(
                    "turn_failed", f"processing the user's turn failed: {exc}; the turn was reset"
                )
            )
        )
