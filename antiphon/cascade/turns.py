"""Turn-taking bookkeeping for the cascade: a pending end of turn, an overlap candidate
(speech while the agent talks), and the end-of-turn rule."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

import numpy as np

from antiphon.session.commands import TurnDetection


@dataclass
class TurnCandidate:
    """The user paused: is the turn over? Speech recognition, the smart-turn verdict and a
    speculative response start at once; all are dropped if the user goes on talking."""

    audio: np.ndarray
    speech_end_t: float  # clock time at which the user's speech ended
    speech_end_ms: int  # the same on the input audio timeline
    asr: asyncio.Task[str] | None  # None: a long turn, transcribed only once it is over
    smart: asyncio.Task[float] | None
    committed: bool = False
    asr_done_t: float | None = None  # clock time the transcript was ready

    def metrics(self, now: float) -> dict[str, float]:
        """Stage times after the end of speech, in ms, for the latency breakdown."""
        out = {"eot_ms": (now - self.speech_end_t) * 1000.0}
        if self.asr_done_t is not None:
            out["asr_final_ms"] = (self.asr_done_t - self.speech_end_t) * 1000.0
        return out

    def complete_probability(self) -> float | None:
        if self.smart is None or not self.smart.done() or self.smart.cancelled():
            return None
        return self.smart.result() if self.smart.exception() is None else None

    def asked_question(self) -> bool:
        """The transcript ends in a question mark: Whisper sets one from the intonation and
        the syntax of a finished question, a cue smart-turn alone sometimes misses."""
        if self.asr is None or not self.asr.done() or self.asr.cancelled():
            return False
        if self.asr.exception() is not None:
            return False
        return self.asr.result().rstrip(" \"'”’»)").endswith(("?", "？"))

    def cancel(self) -> None:
        for task in (self.asr, self.smart):
            if task is not None and not task.done():
                task.cancel()


def end_of_turn(
    td: TurnDetection,
    silence_ms: float,
    p_complete: float | None,
    min_eot_ms: int,
    complete_threshold: float,
    asked: bool = False,
    asked_eot_ms: int = 600,
) -> bool:
    """server_vad: silence alone. semantic_vad: early when smart-turn says the utterance is
    complete, late (max_silence_ms) when it does not or cannot say; in between
    (``asked_eot_ms``) when it says "incomplete" but the transcript ends in a question mark
    (smart-turn judged "What is 2 plus 2?" incomplete in 1 of 2 renderings)."""
    if td.kind == "server_vad":
        return silence_ms >= td.silence_duration_ms
    if p_complete is not None and p_complete >= complete_threshold:
        return silence_ms >= max(min_eot_ms, 0)
    if asked:
        return silence_ms >= min(max(asked_eot_ms, min_eot_ms), td.max_silence_ms)
    return silence_ms >= td.max_silence_ms


class RecentAudio:
    """A short ring of the latest input, so a turn starts with its first syllable (the VAD
    needs ~100 ms to decide that speech began)."""

    def __init__(self, max_chunks: int) -> None:
        self._chunks: deque[np.ndarray] = deque(maxlen=max_chunks)

    def push(self, chunk: np.ndarray) -> None:
        self._chunks.append(chunk)

    def snapshot(self) -> list[np.ndarray]:
        return list(self._chunks)
