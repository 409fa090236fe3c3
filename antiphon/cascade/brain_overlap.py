"""The cascade session's side of overlapping speech: feed each chunk heard while the agent
talks to the OverlapWatcher with what it needs (the user's level, the echo measure, the
input before residual suppression) and hold or resume playback. The brain turns the
overlap it returns on a barge-in into the user's next turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from antiphon.cascade.echo_check import MAX_LAG_S, echo_peak
from antiphon.cascade.overlap import Overlap, OverlapWatcher, speech_level
from antiphon.cascade.turns import RecentAudio
from antiphon.cascade.vad import VADSegmenter
from antiphon.session.brain import BrainContext
from antiphon.session.commands import TurnDetection


class OverlapGlue:
    def __init__(
        self,
        ctx: BrainContext,
        check: Callable[[np.ndarray], asyncio.Task[str]],
        far_db: float,
        hold_on_overlap: bool,
    ) -> None:
        """``check`` starts transcribing overlap audio on the recognizer's worker."""
        self.ctx = ctx
        self.watcher = OverlapWatcher(check, far_db=far_db)
        self._hold_on_overlap = hold_on_overlap
        self.holding = False  # playback paused while an overlap is judged
        self.near_db: float | None = None  # how loud the user's own turns are
        # the last 0.5 s of input before residual echo suppression: levels and the echo check
        self.heard = RecentAudio(max_chunks=16)

    def push(self, chunk: np.ndarray) -> None:
        """Every input chunk, before it is routed: what was heard before suppression."""
        get = self.ctx.unsuppressed_input
        self.heard.push(chunk if get is None else get(len(chunk)))

    def on_chunk(
        self,
        chunk: np.ndarray,
        event: str | None,
        seg: VADSegmenter,
        recent: RecentAudio,
        td: TurnDetection,
        agent_text: str,
    ) -> Overlap | None:
        """A chunk heard while the agent talks; the overlap when it is a barge-in."""
        ov = self.watcher.on_chunk(
            chunk,
            event,
            seg,
            recent,
            self.ctx.input_ms(),
            td,
            agent_text,
            self.near_db,
            self._echo_peak,
            self.heard.snapshot(),
        )
        if ov is None:
            self.hold(self.watcher.holding and self._hold_on_overlap)
        return ov

    def quiet(self) -> None:
        """A chunk while the agent is quiet: no overlap, no hold."""
        self.watcher.reset()
        self.hold(False)

    def _echo_peak(self) -> float:
        near = np.concatenate(self.heard.snapshot())
        return echo_peak(near, self.ctx.far_end(len(near) + int(MAX_LAG_S * 16000)))

    def hold(self, on: bool) -> None:
        if on != self.holding:
            self.holding = on
            self.ctx.hold_output(on)

    def interrupted(self) -> None:
        """The response was cancelled: its flush ended the hold; playback may go on."""
        self.holding = False
        self.ctx.hold_output(False)

    def note_level(self, levels: list[float]) -> None:
        """The user's speaking level, from their turns: the reference far-field speech is
        judged against (moves halfway to each new turn's level)."""
        if len(levels) >= 5:
            level = speech_level(levels)
            near = self.near_db
            self.near_db = level if near is None else (near + level) / 2
