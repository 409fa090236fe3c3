"""The user's turn, as one state machine (``TurnState``):

    LISTENING ─speech─▶ SPEAKING ─pause─▶ PAUSED ─end of turn─▶ ENDING ─transcript─▶ LISTENING
                           ▲                 │
                           └──speech again───┘  (the candidate and its speculation dropped)

A barge-in opens SPEAKING from the overlap's audio; a stalled client or a turn at its
length limit goes from SPEAKING (or PAUSED) straight to ENDING.

In SPEAKING the turn's audio grows and live partial transcripts are decoded. In PAUSED a
``TurnCandidate`` is judged: the final transcript, the two end-of-turn verdicts and (via the
brain) a speculative response start at once. ENDING waits for the transcript, then hands
the finished turn to the brain (``on_turn``). A background failure anywhere resets the turn
to LISTENING (``reset``). Chunks arrive while the agent is quiet (overlap.py handles the
others); the brain owns the VAD and passes each chunk's segmenter event.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

from antiphon.cascade.asr import IncrementalTranscriber
from antiphon.cascade.conversation import Message
from antiphon.cascade.overlap import Overlap, chunk_db
from antiphon.cascade.services import CascadeServices
from antiphon.cascade.turns import RecentAudio, TurnCandidate, end_of_turn
from antiphon.cascade.vad import VADSegmenter
from antiphon.cascade.workers import StackWorkers, Urgency
from antiphon.session.brain import BrainContext
from antiphon.session.commands import Tool, TurnDetection
from antiphon.session.events import (
    ErrorEvent,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptDelta,
    UserTranscriptFinal,
)

CHUNK = 512
# a turn this long is ended and transcribed: it bounds a session's audio (7.7 MB) while a
# one-minute monologue is still heard out as one turn (faster-whisper decodes it in windows)
MAX_TURN = 120 * 16000
LONG_TURN = 15 * 16000  # longer turns get no partials or speculation, one decode at the end


class TurnState(Enum):
    LISTENING = "listening"  # no user turn open
    SPEAKING = "speaking"  # a turn is open and the user is talking
    PAUSED = "paused"  # the user paused: is the turn over? (a candidate is judged)
    ENDING = "ending"  # it is over: waiting for the final transcript


@dataclass
class FinishedTurn:
    item: str
    text: str  # "" when nothing was said (noise)
    speech_end_t: float  # clock time the user's speech ended
    metrics: dict[str, float]  # stage times after the end of speech (ms)
    levels: list[float]  # dB of its speech chunks


def new_item_id() -> str:
    return "item_" + uuid.uuid4().hex[:12]


class TurnController:
    def __init__(
        self,
        ctx: BrainContext,
        services: CascadeServices,
        workers: StackWorkers,
        owner: str,
        track: Callable[[Awaitable[Any]], asyncio.Task[Any]],
        prompt_with: Callable[[str], tuple[list[Message], list[Tool]]],
        on_turn: Callable[[FinishedTurn], Awaitable[None]],
    ) -> None:
        """``track`` runs a background task whose failure resets the turn (the brain's);
        ``prompt_with(words)`` is the reply's prompt for those words; ``on_turn`` receives
        each finished turn, after its final transcript was sent."""
        self.ctx, self.services, self.workers, self.owner = ctx, services, workers, owner
        self.cfg = services.config
        self._track, self._prompt_with, self._on_turn = track, prompt_with, on_turn
        self.state = TurnState.LISTENING
        self.item: str | None = None
        self.chunks: list[np.ndarray] = []  # the open turn's audio
        self.levels: list[float] = []  # dB of its speech chunks (the user's own level)
        self.candidate: TurnCandidate | None = None
        self._partials = IncrementalTranscriber(services)  # type: ignore[arg-type]
        self._partial_from = 0  # samples of the turn already covered by a partial decode
        self._partial_job: asyncio.Task[str] | None = None
        self.speculate: Callable[[TurnCandidate], Awaitable[None]] | None = None
        self.drop_speculation: Callable[[], Awaitable[None]] = _nothing
        self.on_partial: Callable[[str], None] = lambda _words: None  # while SPEAKING
        self.on_pause: Callable[[], None] = lambda: None  # SPEAKING → PAUSED

    # ---- transitions ------------------------------------------------------------------
    def _open(self, chunks: list[np.ndarray], levels: list[float]) -> str:
        """→ SPEAKING with a new item."""
        self.state = TurnState.SPEAKING
        self.item = new_item_id()
        self.chunks, self.levels = chunks, levels
        self._partial_from = 0
        self._partials = IncrementalTranscriber(self.services)  # type: ignore[arg-type]
        return self.item

    async def open_from_overlap(self, ov: Overlap) -> None:
        """A barge-in: the overlap's speech is the start of the user's next turn."""
        if self.candidate is not None and not self.candidate.committed:
            self.candidate.cancel()
        self.candidate = None  # (a committed one ends on its own task)
        item = self._open(ov.chunks, list(ov.levels))
        await self.ctx.emit(UserSpeechStarted(ov.start_ms, item))

    async def _resume(self) -> None:
        """PAUSED → SPEAKING: a pause inside the turn, not its end."""
        cand, self.candidate = self.candidate, None
        if cand is not None:
            cand.cancel()
        self.state = TurnState.SPEAKING
        await self.drop_speculation()

    def reset(self) -> None:
        """→ LISTENING, the open turn forgotten (after a failure, or a finished turn)."""
        if self.candidate is not None:
            self.candidate.cancel()
        self.state = TurnState.LISTENING
        self.item, self.chunks, self.candidate = None, [], None

    # ---- per chunk (the agent is quiet) -------------------------------------------------
    async def on_chunk(
        self,
        chunk: np.ndarray,
        event: str | None,
        seg: VADSegmenter,
        td: TurnDetection,
        recent: RecentAudio,
        heard: RecentAudio,
    ) -> None:
        """``recent``: the input before this chunk (a turn starts with its first syllable);
        ``heard``: the same before residual echo suppression, this chunk last (levels)."""
        if self.state is TurnState.ENDING:
            return  # the turn is decided; the next one starts at the next speech onset
        if event == "start":
            if self.state is TurnState.PAUSED:
                await self._resume()
            if self.state is TurnState.LISTENING:
                item = self._open(recent.snapshot(), [chunk_db(c) for c in heard.snapshot()[-3:]])
                start_ms = self.ctx.input_ms() - int(seg.speech_ms)
                self._track(self.ctx.emit(UserSpeechStarted(max(0, start_ms - 320), item)))
        if self.state is TurnState.LISTENING:
            return
        self.chunks.append(chunk)
        if self.state is TurnState.SPEAKING and len(self.chunks) * CHUNK >= MAX_TURN:
            await self._cut_long_turn(seg, td)
            return
        if seg.in_speech:
            self.levels.append(chunk_db(heard.snapshot()[-1]))
            self._maybe_partial()
        elif event == "stop":
            self._pause(seg, td)
        cand = self.candidate
        if (
            self.state is TurnState.PAUSED
            and cand is not None
            and not seg.in_speech
            and end_of_turn(td, seg.silence_ms, cand.verdict(), self.cfg.end_of_turn)
        ):
            self._commit(cand)

    def _maybe_partial(self) -> None:
        if self._partial_job is not None and not self._partial_job.done():
            return
        total = sum(len(c) for c in self.chunks)
        # long turns: decode less often, so a monologue costs linear rather than quadratic time
        interval_ms = max(self.cfg.partial_interval_ms, total / 16 / 8)
        if (total - self._partial_from) * 1000 < interval_ms * 16000 or total > LONG_TURN:
            return
        self._partial_from = total
        self._partial_job = self._track(self._partial(np.concatenate(self.chunks), self.item))

    async def _partial(self, audio: np.ndarray, item: str | None) -> str:
        """Live transcript: only words two successive decodes agree on are sent."""
        partials = self._partials
        delta = await self.workers.asr.call(
            partials.update, audio, urgency=Urgency.BACKGROUND, owner=self.owner
        )
        if delta and item is not None and item == self.item:
            await self.ctx.emit(UserTranscriptDelta(item, delta))
            if self.state is TurnState.SPEAKING:  # (paused: the final decode is coming)
                self.on_partial(partials.hypothesis)
        return delta

    def _pause(self, seg: VADSegmenter, td: TurnDetection) -> None:
        """SPEAKING → PAUSED: transcript, verdicts and speculation start at once."""
        audio = np.concatenate(self.chunks)
        long_turn = len(audio) > LONG_TURN
        asr = None if long_turn else self._track(self.transcribe(audio))
        smart = None
        if td.kind == "semantic_vad":
            smart = self._track(
                self.workers.turn.call(self.services.complete_probability, audio, owner=self.owner)
            )
        cand = TurnCandidate(
            audio,
            self.ctx.clock.now() - seg.silence_ms / 1000.0,
            self.ctx.input_ms() - int(seg.silence_ms),
            asr,
            smart,
        )
        self.candidate, self.state = cand, TurnState.PAUSED
        self.on_pause()
        if asr is not None:
            self._note_asr_time(cand, asr)
            if smart is not None:  # semantic_vad: the words' verdict too
                cand.words = self._track(self._words_verdict(asr))
        if not long_turn and self.speculate is not None:
            self._track(self.speculate(cand))

    def _note_asr_time(self, cand: TurnCandidate, asr: asyncio.Task[str]) -> None:
        clock = self.ctx.clock
        asr.add_done_callback(lambda _t: setattr(cand, "asr_done_t", clock.now()))

    async def _words_verdict(self, asr: asyncio.Task[str]) -> float | None:
        """The chat model's P(the turn is over) after the transcript, on the reply's own
        prompt: the tokens it evaluates stay in the KV cache for the reply."""
        text = await asr
        if not text:
            return None  # no words to judge: the acoustic verdict decides alone
        prompt, tools = self._prompt_with(text)
        return await self.workers.llm.call(
            self.services.end_of_turn_probability,
            prompt,
            tools,
            urgency=Urgency.GATE,  # ahead of reply passes: every session's turn waits on it
            owner=self.owner,
        )

    async def transcribe(self, audio: np.ndarray) -> str:
        """A final decode (end of turn, overlap check, manual commit): urgent."""
        return await self.workers.asr.call(
            self.services.transcribe, audio, urgency=Urgency.NOW, owner=self.owner
        )

    # ---- ending ---------------------------------------------------------------------------
    def _commit(self, cand: TurnCandidate) -> None:
        """PAUSED → ENDING."""
        cand.committed = True
        self.state = TurnState.ENDING
        self._track(self._end(cand))

    async def _end(self, cand: TurnCandidate) -> None:
        item = self.item or new_item_id()
        eot_t = self.ctx.clock.now()
        await self.ctx.emit(UserSpeechStopped(cand.speech_end_ms, item))
        if cand.asr is None:
            cand.asr = self._track(self.transcribe(cand.audio))
            self._note_asr_time(cand, cand.asr)
        text = await cand.asr
        metrics = cand.metrics(eot_t)
        await self.ctx.emit(UserTranscriptFinal(item, text, self.cfg.language))
        levels = self.levels
        if self.item == item:  # (a barge-in may have opened the next turn meanwhile)
            self.reset()
        await self._on_turn(FinishedTurn(item, text, cand.speech_end_t, metrics, levels))

    def end_now(self, seg: VADSegmenter, td: TurnDetection) -> None:
        """SPEAKING → ENDING with the audio received so far, without waiting for silence."""
        self._pause(seg, td)
        seg.reset()
        assert self.candidate is not None
        self._commit(self.candidate)

    async def _cut_long_turn(self, seg: VADSegmenter, td: TurnDetection) -> None:
        """An hour-long turn must not hold an hour of audio: end it at MAX_TURN and
        transcribe it; the speech that follows opens the next turn."""
        await self.ctx.emit(
            ErrorEvent(
                "turn_too_long",
                f"the user's turn reached {MAX_TURN // 16000} s; it was ended and transcribed, "
                "and speech after it starts a new turn",
            )
        )
        self.end_now(seg, td)

    async def on_stall(self, idle_s: float, seg: VADSegmenter, td: TurnDetection) -> None:
        """No input for ``idle_s`` in the middle of a turn: end it with what came. Also
        when it stopped inside the pause after the user's last words (silence is counted
        in received audio, so that pause would never grow long enough)."""
        if self.state not in (TurnState.SPEAKING, TurnState.PAUSED):
            return
        await self.ctx.emit(
            ErrorEvent(
                "input_audio_stalled",
                f"no input audio for {idle_s:.1f} s in the middle of the user's turn; "
                "the turn was ended with the audio received so far",
            )
        )
        if self.state is TurnState.PAUSED and self.candidate is not None:
            self._commit(self.candidate)
        else:
            self.end_now(seg, td)

    def close(self) -> None:
        if self.candidate is not None:
            self.candidate.cancel()


async def _nothing() -> None:
    return None
