"""What one cascade session may hold, and what happens at each bound: a stalled client in
the middle of a turn, an over-long turn, a full manual-commit buffer, a conversation past
its item limit. Mixed into CascadeBrain, whose state it uses; each bound answers with a
specific error event and the session goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import numpy as np

from antiphon.session.events import ErrorEvent

if TYPE_CHECKING:
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.conversation import Conversation
    from antiphon.cascade.turns import TurnCandidate
    from antiphon.cascade.vad import VADSegmenter
    from antiphon.session.brain import BrainContext

# Bounds on what one session holds (16 kHz float32: 1 s = 64 kB)
# a turn this long is ended and transcribed: it bounds a session's audio (7.7 MB) while a
# one-minute monologue is still heard out as one turn (faster-whisper decodes it in windows)
MAX_TURN = 120 * 16000
MAX_MANUAL = 120 * 16000  # uncommitted audio with turn detection off
MAX_ITEMS = 200  # conversation items; the oldest are dropped beyond it


class SessionBounds:
    # first among CascadeBrain's bases: its methods replace ClientCommands' declarations
    ctx: BrainContext
    cfg: CascadeConfig
    conv: Conversation
    seg: VADSegmenter
    _candidate: TurnCandidate | None
    _user_item: str | None
    _last_audio_t: float
    _manual: list[np.ndarray]
    _manual_n: int
    _manual_full: bool

    def _start_candidate(self) -> None:  # provided by CascadeBrain
        raise NotImplementedError

    async def _commit_turn(self, cand: TurnCandidate) -> None:  # provided by CascadeBrain
        raise NotImplementedError

    def _track(self, aw: Awaitable[Any]) -> asyncio.Task[Any]:  # provided by CascadeBrain
        raise NotImplementedError

    def _end_turn_now(self) -> None:
        """End the open turn with the audio received so far, without waiting for silence."""
        self._start_candidate()
        self.seg.reset()
        assert self._candidate is not None
        self._candidate.committed = True
        self._track(self._commit_turn(self._candidate))

    async def _watch_input(self) -> None:
        """A client that stops sending in the middle of a turn: end the turn with what came.
        Also when it stopped inside the pause after the user's last words (a candidate end
        of turn whose silence no longer grows, since silence is counted in received audio):
        without this, that turn would wait for audio that never comes."""
        while True:
            await self.ctx.clock.sleep(0.25)
            idle = self.ctx.clock.now() - self._last_audio_t
            cand = self._candidate
            if (
                self._user_item is None
                or idle < self.cfg.input_stall_s
                or (cand is not None and cand.committed)
            ):
                continue
            await self.ctx.emit(
                ErrorEvent(
                    "input_audio_stalled",
                    f"no input audio for {idle:.1f} s in the middle of the user's turn; "
                    "the turn was ended with the audio received so far",
                )
            )
            if cand is None:
                self._end_turn_now()
            else:
                cand.committed = True
                self._track(self._commit_turn(cand))

    async def _buffer_manual(self, chunk: np.ndarray) -> None:
        if self._manual_n + len(chunk) > MAX_MANUAL:
            if not self._manual_full:  # say it once per full buffer
                self._manual_full = True
                await self.ctx.emit(
                    ErrorEvent(
                        "input_audio_buffer_full",
                        f"the input audio buffer holds its maximum of {MAX_MANUAL // 16000} s; "
                        "audio after it is dropped until you commit or clear the buffer",
                    )
                )
            return
        self._manual.append(chunk)
        self._manual_n += len(chunk)

    def _clear_manual(self) -> None:
        self._manual.clear()
        self._manual_n = 0
        self._manual_full = False

    async def _cut_long_turn(self) -> None:
        """An hour-long turn must not hold an hour of audio: end it at MAX_TURN and
        transcribe it; the speech that follows opens the next turn."""
        await self.ctx.emit(
            ErrorEvent(
                "turn_too_long",
                f"the user's turn reached {MAX_TURN // 16000} s; it was ended and transcribed, "
                "and speech after it starts a new turn",
            )
        )
        self._end_turn_now()

    async def _trim_conversation(self) -> None:
        for item_id in self.conv.drop_oldest(MAX_ITEMS):
            await self.ctx.emit(
                ErrorEvent(
                    "conversation_item_dropped",
                    f"conversation item {item_id} was dropped: a session keeps at most "
                    f"{MAX_ITEMS} items",
                )
            )
