"""The cascade brain: VAD + end of turn → ASR → LLM → TTS, with barge-in.

Input arrives in 32 ms chunks at 16 kHz. Cheap decisions (VAD, turn state) run inline;
model calls run in worker threads. See docs/architecture.md for the timeline of a turn.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

import numpy as np

from antiphon.audio.frames import Framer
from antiphon.cascade.asr import IncrementalTranscriber
from antiphon.cascade.brain_bounds import MAX_TURN, SessionBounds
from antiphon.cascade.brain_commands import ClientCommands, new_item_id
from antiphon.cascade.brain_overlap import OverlapHandling
from antiphon.cascade.conversation import Conversation, Message
from antiphon.cascade.overlap import OverlapWatcher, chunk_db
from antiphon.cascade.responder import Responder, ResponsePlan, llm_prompt
from antiphon.cascade.response import ResponseState
from antiphon.cascade.services import CascadeServices
from antiphon.cascade.stack import SessionTools
from antiphon.cascade.turns import RecentAudio, TurnCandidate, end_of_turn
from antiphon.cascade.vad import SileroVAD, VADSegmenter
from antiphon.cascade.word_prefill import WordPrefill
from antiphon.cascade.workers import Urgency, workers_of
from antiphon.session.brain import BrainContext
from antiphon.session.commands import SpeakingStyle, Tool, TurnDetection
from antiphon.session.events import (
    ErrorEvent,
    StyleChanged,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptDelta,
    UserTranscriptFinal,
)

T = TypeVar("T")
log = logging.getLogger("antiphon.cascade")
CHUNK = SileroVAD.CHUNK
CHUNK_MS = CHUNK * 1000 // 16000
LONG_TURN = 15 * 16000  # longer turns get no partials or speculation, one decode at the end


class CascadeBrain(SessionBounds, ClientCommands, OverlapHandling):
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
        self._framer = Framer(CHUNK)
        self._recent = RecentAudio(max_chunks=10)  # 320 ms of prefix
        self._jobs: set[asyncio.Future[object]] = set()
        self._user_item: str | None = None
        self._turn: list[np.ndarray] = []  # audio of the open user turn
        self._manual: list[np.ndarray] = []  # uncommitted audio when turns are manual
        self._manual_n = 0  # samples in _manual
        self._manual_full = False  # the buffer overflowed (reported once) since the last commit
        self._last_failure: BaseException | None = None
        self._candidate: TurnCandidate | None = None
        self._overlaps = OverlapWatcher(
            lambda audio: self._track(self._transcribe(audio)),
            far_db=self.cfg.far_speech_db,
        )
        self._holding = False  # playback paused while an overlap is judged
        self._turn_levels: list[float] = []  # dB of the open user turn's speech chunks
        self._near_db: float | None = None  # how loud the user's own turns are
        # the last 0.5 s of input before residual echo suppression: levels and the echo check
        self._heard = RecentAudio(max_chunks=16)
        self._responder: Responder | None = None
        self._partial_from = 0  # samples of the turn already covered by a partial decode
        self._partials = IncrementalTranscriber(stack)  # type: ignore[arg-type]
        self._partial_job: asyncio.Task[str] | None = None
        self._prefill = WordPrefill(self.stack, self.workers.llm, self.session_id, self._track)

    # ---- Brain protocol ----------------------------------------------------------------
    async def start(self, ctx: BrainContext) -> None:
        self.ctx = ctx
        self.vad = self.stack.new_vad()
        self.seg = VADSegmenter(min_speech_ms=96, min_silence_ms=64)
        self._last_audio_t = ctx.clock.now()
        self._watchdog = asyncio.create_task(self._watch_input(), name="input-watchdog")

    async def push_audio(self, frame: np.ndarray) -> None:
        self._last_audio_t = self.ctx.clock.now()
        for chunk in self._framer.push(frame):
            await self._on_chunk(chunk)
        await self._speak_due_timers()

    async def settle(self) -> None:
        while True:
            pending = [j for j in self._jobs if not j.done()]
            r = self._responder
            if r is not None and not r.generated.is_set():
                pending.append(asyncio.ensure_future(r.generated.wait()))
            if not pending:
                return
            await asyncio.wait(pending)

    async def close(self) -> None:
        self._watchdog.cancel()
        if self._responder is not None:
            await self._responder.cancel(announce=False)
        if self._candidate is not None:
            self._candidate.cancel()
        for job in list(self._jobs):
            job.cancel()

    # ---- per-chunk turn logic --------------------------------------------------------------
    async def _on_chunk(self, chunk: np.ndarray) -> None:
        if self.td is None:
            await self._buffer_manual(chunk)
            return
        event = self.seg.push(self.vad.prob(chunk))
        self._heard.push(self._unsuppressed(chunk))
        if self._agent_active() and self.td.interrupt_response:
            await self._overlap_chunk(chunk, event)
        else:
            self._overlaps.reset()
            self._hold(False)
            await self._turn_chunk(chunk, event)
        self._recent.push(chunk)

    def _agent_active(self) -> bool:
        r = self._responder
        if r is None or r.state is ResponseState.GATED:
            return False
        if not r.active():  # over, and its last audio has played
            self._responder = None
            return False
        return True

    async def _turn_chunk(self, chunk: np.ndarray, event: str | None) -> None:
        if event == "start":
            if self._candidate is not None and not self._candidate.committed:
                await self._drop_candidate()  # a pause inside the turn, not its end
            if self._user_item is None:
                self._open_turn(self.ctx.input_ms() - int(self.seg.speech_ms))
        if self._user_item is None:
            return
        self._turn.append(chunk)
        if self._candidate is None and len(self._turn) * CHUNK >= MAX_TURN:
            await self._cut_long_turn()
            return
        if self.seg.in_speech:
            self._turn_levels.append(chunk_db(self._heard.snapshot()[-1]))
            self._maybe_partial()
        elif event == "stop":
            self._start_candidate()
        cand = self._candidate
        if (
            cand is not None
            and not cand.committed
            and not self.seg.in_speech
            and end_of_turn(
                self.td or TurnDetection(),
                self.seg.silence_ms,
                cand.verdict(),
                self.cfg.end_of_turn,
            )
        ):
            cand.committed = True
            self._track(self._commit_turn(cand))

    def _open_turn(self, start_ms: int) -> None:
        self._user_item = new_item_id()
        self._turn = self._recent.snapshot()
        self._turn_levels = [chunk_db(c) for c in self._heard.snapshot()[-3:]]
        self._partial_from = 0
        self._partials = IncrementalTranscriber(self.stack)  # type: ignore[arg-type]
        self._track(self.ctx.emit(UserSpeechStarted(max(0, start_ms - 320), self._user_item)))

    def _maybe_partial(self) -> None:
        if self._partial_job is not None and not self._partial_job.done():
            return
        total = sum(len(c) for c in self._turn)
        # long turns: decode less often, so a monologue costs linear rather than quadratic time
        interval_ms = max(self.cfg.partial_interval_ms, total / 16 / 8)
        if (total - self._partial_from) * 1000 < interval_ms * 16000 or total > LONG_TURN:
            return
        audio = np.concatenate(self._turn)
        self._partial_from = total
        item = self._user_item
        self._partial_job = self._track(self._partial(audio, item))

    async def _partial(self, audio: np.ndarray, item: str | None) -> str:
        """Live transcript: only words two successive decodes agree on are sent."""
        delta = await self.workers.asr.call(
            self._partials.update, audio, urgency=Urgency.BACKGROUND, owner=self.session_id
        )
        if delta and item is not None and item == self._user_item:
            await self.ctx.emit(UserTranscriptDelta(item, delta))
            self._prefill.offer(*self._prompt_with(self._partials.hypothesis))
        return delta

    def _start_candidate(self) -> None:
        audio = np.concatenate(self._turn)
        silence_s = self.seg.silence_ms / 1000.0
        long_turn = len(audio) > LONG_TURN
        asr = None if long_turn else self._track(self._transcribe(audio))
        smart = None
        if self.td is not None and self.td.kind == "semantic_vad":
            smart = self._track(
                self.workers.turn.call(
                    self.stack.complete_probability, audio, owner=self.session_id
                )
            )
        cand = TurnCandidate(
            audio,
            self.ctx.clock.now() - silence_s,
            self.ctx.input_ms() - int(self.seg.silence_ms),
            asr,
            smart,
        )
        self._candidate = cand
        if asr is not None:
            self._note_asr_time(cand, asr)
            if smart is not None:  # semantic_vad: the words' verdict too
                cand.words = self._track(self._words_verdict(cand, asr))
        if (
            not long_turn
            and self.cfg.speculative
            and self.td is not None
            and self.td.create_response
        ):
            self._track(self._speculate(cand))

    def _note_asr_time(self, cand: TurnCandidate, asr: asyncio.Task[str]) -> None:
        clock = self.ctx.clock
        asr.add_done_callback(lambda _t: setattr(cand, "asr_done_t", clock.now()))

    async def _words_verdict(self, cand: TurnCandidate, asr: asyncio.Task[str]) -> float | None:
        """The chat model's P(the turn is over) after the transcript, on the reply's own
        prompt: the tokens it evaluates stay in the KV cache for the reply."""
        text = await asr
        if not text:
            return None  # no words to judge: the acoustic verdict decides alone
        prompt, tools = self._prompt_with(text)
        return await self.workers.llm.call(
            self.stack.end_of_turn_probability,
            prompt,
            tools,
            urgency=Urgency.GATE,  # ahead of reply passes: every session's turn waits on it
            owner=self.session_id,
        )

    def _prompt_with(self, words: str) -> tuple[list[Message], list[Tool]]:
        """The reply's prompt if the user's turn were ``words``, and the session's tools."""
        tools, lang = self.tools.schemas(), self.cfg.language
        return llm_prompt(self.conv, None, [Message("user", words)], tools, lang), tools

    async def _speculate(self, cand: TurnCandidate) -> None:
        assert cand.asr is not None
        text = await cand.asr
        if cand.words is not None:
            # the words' verdict first: it evaluates the user's words, which the reply's
            # prompt shares, so the reply then evaluates only its header
            await asyncio.wait([cand.words])
        if self._candidate is not cand or not text or self.stack.style_request(text, self.style):
            return
        if self._responder is None:
            self._responder = self._new_responder(
                ResponsePlan(extra_messages=[Message("user", text)]),
                speculative=True,
                t_ref=cand.speech_end_t,
            )
            self._responder.start()

    async def _drop_candidate(self) -> None:
        cand, self._candidate = self._candidate, None
        if cand is not None:
            cand.cancel()
        r = self._responder
        if r is not None and r.state is ResponseState.GATED:
            self._responder = None
            await r.cancel()

    async def _commit_turn(self, cand: TurnCandidate) -> None:
        item = self._user_item or new_item_id()
        eot_t = self.ctx.clock.now()
        await self.ctx.emit(UserSpeechStopped(cand.speech_end_ms, item))
        if cand.asr is None:
            cand.asr = self._track(self._transcribe(cand.audio))
            self._note_asr_time(cand, cand.asr)
        text = await cand.asr
        metrics = cand.metrics(eot_t)
        await self.ctx.emit(UserTranscriptFinal(item, text, self.cfg.language))
        self._user_item, self._turn, self._candidate = None, [], None
        r = self._responder
        r = r if r is not None and r.state is ResponseState.GATED else None
        if not text:
            if r is not None:
                self._responder = None
                await r.cancel()
            return
        self.conv.add(Message("user", text), item)
        await self._trim_conversation()
        self._note_level()
        new_style = self.stack.style_request(text, self.style)
        if new_style is not None:
            if r is not None:
                self._responder = None
                await r.cancel()
            self.style = new_style
            await self.ctx.emit(StyleChanged(new_style.speed, new_style.volume, new_style.pitch))
            self._respond(
                ResponsePlan(fixed_text=self.stack.style_ack(text)), cand.speech_end_t, metrics
            )
            return
        if self.td is not None and not self.td.create_response:
            if r is not None:
                self._responder = None
                await r.cancel()
            return
        if r is not None:
            r.plan.extra_messages.clear()  # the user message is now in the conversation
            r.release(metrics)
        else:
            self._respond(ResponsePlan(), cand.speech_end_t, metrics)

    # ---- model calls ------------------------------------------------------------------------
    async def _transcribe(self, audio: np.ndarray) -> str:
        """A final decode (end of turn, overlap check, manual commit): urgent."""
        return await self.workers.asr.call(
            self.stack.transcribe, audio, urgency=Urgency.NOW, owner=self.session_id
        )

    # ---- responses ----------------------------------------------------------------------------
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

    def _respond(
        self,
        plan: ResponsePlan,
        t_ref: float | None = None,
        metrics: dict[str, float] | None = None,
    ) -> None:
        self._responder = self._new_responder(plan, t_ref=t_ref)
        self._responder.metrics.update(metrics or {})
        self._responder.start()

    async def _speak_due_timers(self) -> None:
        due = self.tools.due_reminders()
        if due and not self._agent_active() and self._user_item is None:
            self._respond(ResponsePlan(fixed_text=" ".join(due)))

    def _track(self, aw: Awaitable[T]) -> asyncio.Task[T]:
        task: asyncio.Task[T] = asyncio.ensure_future(aw)
        self._jobs.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._job_done)  # type: ignore[arg-type]
        return task

    def _job_done(self, task: asyncio.Future[object]) -> None:
        """A background task that failed becomes a log line, an error event and a clean
        turn reset (an ASR that raised used to leave the turn stuck, silently)."""
        self._jobs.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if exc is self._last_failure:  # the same failure seen again by a task awaiting it
            return
        self._last_failure = exc
        log.error("session %s: background task failed", self.session_id, exc_info=exc)
        self._user_item, self._turn, self._candidate = None, [], None
        self.seg.reset()
        asyncio.ensure_future(
            self.ctx.emit(
                ErrorEvent(
                    "turn_failed", f"processing the user's turn failed: {exc}; the turn was reset"
                )
            )
        )
