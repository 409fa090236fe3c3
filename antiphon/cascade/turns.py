"""Turn-taking bookkeeping for the cascade: a pending end of turn, an overlap candidate
(speech while the agent talks), and the end-of-turn rule."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from antiphon.session.commands import TurnDetection


def _result(task: asyncio.Task[float | None] | asyncio.Task[float] | None) -> float | None:
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _pending(task: asyncio.Future[Any] | None) -> bool:
    return task is not None and not task.done()


@dataclass
class TurnCandidate:
    """The user paused: is the turn over? Speech recognition, the two end-of-turn verdicts
    (smart-turn on the audio, the chat model on the words) and a speculative response start
    at once; all are dropped if the user goes on talking."""

    audio: np.ndarray
    speech_end_t: float  # clock time at which the user's speech ended
    speech_end_ms: int  # the same on the input audio timeline
    asr: asyncio.Task[str] | None  # None: a long turn, transcribed only once it is over
    smart: asyncio.Task[float] | None  # P(complete) from the audio (smart-turn v3.2)
    words: asyncio.Task[float | None] | None = None  # P(complete) from the words (chat model)
    committed: bool = False
    asr_done_t: float | None = None  # clock time the transcript was ready

    def metrics(self, now: float) -> dict[str, float]:
        """Stage times after the end of speech, in ms, for the latency breakdown."""
        out = {"eot_ms": (now - self.speech_end_t) * 1000.0}
        if self.asr_done_t is not None:
            out["asr_final_ms"] = (self.asr_done_t - self.speech_end_t) * 1000.0
        return out

    def verdict(self) -> TurnVerdict:
        return TurnVerdict(
            acoustic=_result(self.smart),
            words=_result(self.words),
            pending=_pending(self.smart) or _pending(self.words) or _pending(self.asr),
        )

    def cancel(self) -> None:
        for task in (self.asr, self.smart, self.words):
            if task is not None and not task.done():
                task.cancel()


@dataclass(frozen=True)
class TurnVerdict:
    """What the end-of-turn models have said so far."""

    acoustic: float | None  # smart-turn's P(complete), None if it has not said or cannot
    words: float | None  # the chat model's P(<|im_end|> next), same
    pending: bool  # a verdict (or the transcript it needs) is still being computed

    def probability(self, words_weight: float) -> float | None:
        """Both verdicts averaged (``words_weight`` for the words); one alone if the other
        failed or does not apply; None while nothing is known."""
        if self.acoustic is not None and self.words is not None:
            return words_weight * self.words + (1.0 - words_weight) * self.acoustic
        if self.pending:
            return None
        return self.words if self.words is not None else self.acoustic


@dataclass(frozen=True)
class EndOfTurnRule:
    """When a pause ends the user's turn (semantic_vad). The combined probability that the
    turn is complete picks how long a silence must last: ``min_ms`` when likely complete,
    ``unsure_ms`` when in between, the session's ``max_silence_ms`` when likely unfinished
    (a mid-sentence pause) or while nothing is known."""

    # chosen on bench duplex's tuning seed 6 (20 questions, 28 mid-clause pauses, offline:
    # `python -m antiphon.bench.duplex.eot_verdicts`): 1 of 20 paused sentences cut, 13 of
    # 20 complete questions at 350 ms; seed 11 is the held-out check (docs/bench-duplex.md)
    min_ms: int = 350
    unsure_ms: int = 800
    complete: float = 0.5
    unsure: float = 0.4
    words_weight: float = 0.6

    def wait_ms(self, td: TurnDetection, verdict: TurnVerdict) -> float:
        p = verdict.probability(self.words_weight)
        if p is None or p < self.unsure:
            return td.max_silence_ms
        if p < self.complete:
            return min(max(self.unsure_ms, self.min_ms), td.max_silence_ms)
        return self.min_ms


def end_of_turn(
    td: TurnDetection, silence_ms: float, verdict: TurnVerdict, rule: EndOfTurnRule
) -> bool:
    """server_vad: silence alone. semantic_vad: the wait the verdicts call for."""
    if td.kind == "server_vad":
        return silence_ms >= td.silence_duration_ms
    return silence_ms >= rule.wait_ms(td, verdict)


class RecentAudio:
    """A short ring of the latest input, so a turn starts with its first syllable (the VAD
    needs ~100 ms to decide that speech began)."""

    def __init__(self, max_chunks: int) -> None:
        self._chunks: deque[np.ndarray] = deque(maxlen=max_chunks)

    def push(self, chunk: np.ndarray) -> None:
        self._chunks.append(chunk)

    def snapshot(self) -> list[np.ndarray]:
        return list(self._chunks)
