"""Speech that starts while the agent is talking: a barge-in, or a backchannel, a short
noise, or leftover echo of the agent itself, none of which may stop it.

After `interrupt_min_speech_ms` of overlap speech, the overlap is transcribed: the agent's
own recent words mean echo (ignored until the overlap ends), a backchannel ("uh-huh",
"yeah", "嗯") shorter than `backchannel_max_ms` means wait, anything else is a barge-in.
A backchannel that goes on past `backchannel_max_ms` is checked once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from antiphon.cascade.backchannel import echo_similarity, is_backchannel
from antiphon.cascade.turns import RecentAudio
from antiphon.cascade.vad import VADSegmenter
from antiphon.session.commands import TurnDetection

CHUNK_MS = 32
GAP_MS = 400  # "Wait, … what is" stays one overlap across a comma pause
ECHO_SIMILARITY = 0.6


@dataclass
class Overlap:
    start_ms: int
    chunks: list[np.ndarray] = field(default_factory=list)
    speech_ms: float = 0.0
    check: asyncio.Task[str] | None = None
    checks_done: int = 0
    dismissed: bool = False  # judged echo: ignore until this overlap ends

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)


class OverlapWatcher:
    def __init__(self, check: Callable[[np.ndarray], asyncio.Task[str]]) -> None:
        self._check = check  # starts transcribing overlap audio in a worker thread
        self.current: Overlap | None = None

    def reset(self) -> None:
        self.current = None

    def on_chunk(
        self,
        chunk: np.ndarray,
        event: str | None,
        seg: VADSegmenter,
        recent: RecentAudio,
        input_ms: int,
        td: TurnDetection,
        agent_text: str,
    ) -> Overlap | None:
        """Feed one chunk heard while the agent talks; returns the overlap on barge-in."""
        if event == "start" and self.current is None:
            start = input_ms - int(seg.speech_ms)
            self.current = Overlap(start, recent.snapshot()[-4:], seg.speech_ms)
        ov = self.current
        if ov is None:
            return None
        ov.chunks.append(chunk)
        if seg.in_speech:
            ov.speech_ms += 0 if event == "start" else CHUNK_MS
        elif seg.silence_ms >= GAP_MS:
            self.current = None  # it ended without being a barge-in: the agent goes on
            return None
        if ov.dismissed or (ov.check is not None and not ov.check.done()):
            return None
        if ov.check is not None:
            verdict = judge(ov.check.result(), ov.speech_ms, td, agent_text)
            ov.check = None
            if verdict == "interrupt":
                self.current = None
                return ov
            if verdict == "echo":
                ov.dismissed = True
                return None
        due = td.interrupt_min_speech_ms if ov.checks_done == 0 else td.backchannel_max_ms
        if ov.speech_ms >= due and ov.checks_done < 2:
            ov.checks_done += 1
            ov.check = self._check(ov.audio())
        return None


def judge(text: str, speech_ms: float, td: TurnDetection, agent_text: str) -> str:
    if text and echo_similarity(text, agent_text) >= ECHO_SIMILARITY:
        return "echo"
    if is_backchannel(text) and speech_ms < td.backchannel_max_ms:
        return "wait"
    return "interrupt"
