"""The cascade brain's side of overlapping speech: feed each chunk heard while the agent
talks to the OverlapWatcher with what it needs (the user's level, the echo measure, the
input before residual suppression), hold or resume playback, and turn a barge-in into a
new user turn. Mixed into CascadeBrain, whose state it uses."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import numpy as np

from antiphon.cascade.asr import IncrementalTranscriber
from antiphon.cascade.echo_check import MAX_LAG_S, echo_peak
from antiphon.cascade.overlap import Overlap, OverlapWatcher, speech_level
from antiphon.cascade.turns import RecentAudio
from antiphon.session.commands import TurnDetection
from antiphon.session.events import UserSpeechStarted

if TYPE_CHECKING:
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.responder import Responder
    from antiphon.cascade.services import CascadeServices
    from antiphon.cascade.vad import VADSegmenter
    from antiphon.session.brain import BrainContext


class OverlapHandling:
    ctx: BrainContext
    cfg: CascadeConfig
    stack: CascadeServices
    td: TurnDetection | None
    seg: VADSegmenter
    _responder: Responder | None
    _overlaps: OverlapWatcher
    _recent: RecentAudio
    _heard: RecentAudio  # the last 0.5 s of input before residual echo suppression
    _holding: bool
    _near_db: float | None
    _turn_levels: list[float]
    _user_item: str | None
    _turn: list[np.ndarray]
    _partial_from: int
    _partials: IncrementalTranscriber

    async def _overlap_chunk(self, chunk: np.ndarray, event: str | None) -> None:
        r = self._responder
        ov = self._overlaps.on_chunk(
            chunk,
            event,
            self.seg,
            self._recent,
            self.ctx.input_ms(),
            self.td or TurnDetection(),
            r.text if r is not None else "",
            self._near_db,
            self._echo_peak,
            self._heard.snapshot(),
        )
        if ov is not None:
            await self._barge_in(ov)
        else:
            self._hold(self._overlaps.holding and self.cfg.hold_on_overlap)

    def _unsuppressed(self, chunk: np.ndarray) -> np.ndarray:
        get = self.ctx.unsuppressed_input
        return chunk if get is None else get(len(chunk))

    def _echo_peak(self) -> float:
        near = np.concatenate(self._heard.snapshot())
        return echo_peak(near, self.ctx.far_end(len(near) + int(MAX_LAG_S * 16000)))

    def _hold(self, on: bool) -> None:
        if on != self._holding:
            self._holding = on
            self.ctx.hold_output(on)

    def _note_level(self) -> None:
        """The user's speaking level, from their turns: the reference far-field speech is
        judged against (moves halfway to each new turn's level)."""
        if len(self._turn_levels) >= 5:
            level = speech_level(self._turn_levels)
            near = self._near_db
            self._near_db = level if near is None else (near + level) / 2

    async def _barge_in(self, ov: Overlap) -> None:
        r, self._responder = self._responder, None
        self._holding = False  # the interrupt flushes the output, which ends the hold
        if r is not None:
            await r.cancel("turn_detected")
        self.ctx.hold_output(False)
        self._turn_levels = list(ov.levels)
        self._user_item = "item_" + uuid.uuid4().hex[:12]
        self._turn = ov.chunks
        self._partial_from = 0
        self._partials = IncrementalTranscriber(self.stack)  # type: ignore[arg-type]
        await self.ctx.emit(UserSpeechStarted(ov.start_ms, self._user_item))
