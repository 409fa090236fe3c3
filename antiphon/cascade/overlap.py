"""Speech that starts while the agent is talking: a barge-in, or a backchannel, a short
noise, leftover echo of the agent itself, or speech not meant for it (the user turned
away, a television), none of which may stop it.

Far-field speech is told apart by its level: overlap speech more than `far_db` quieter
than the user's own turns is ignored (a person addressing the device speaks close to it;
someone across the room, or the user turned away, arrives 10-20 dB lower).

Near speech makes the agent *hold* at once (playback pauses within a frame) while the
overlap is judged, and resume where it stopped if it was a false interruption. After
`interrupt_min_speech_ms` of overlap speech, the overlap is transcribed: the agent's own
recent words mean echo (ignored until the overlap ends), a backchannel ("uh-huh", "yeah",
"嗯") shorter than `backchannel_max_ms` means wait, anything else is a barge-in. A
backchannel that goes on past `backchannel_max_ms` is checked once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from antiphon.cascade.backchannel import asks_for_floor, echo_similarity, is_backchannel, words
from antiphon.cascade.turns import RecentAudio
from antiphon.cascade.vad import VADSegmenter
from antiphon.session.commands import TurnDetection

CHUNK_MS = 32
GAP_MS = 400  # "Wait, … what is" stays one overlap across a comma pause
ECHO_SIMILARITY = 0.6
ECHO_PEAK = 25.0  # GCC-PHAT peak with the played audio (echo_check): echo 44-167, a person 4-17
ECHO_CLEAR = 12.0
ECHO_VERDICT = 18.0  # a barge-in verdict on audio this coherent with the agent's is echo
ECHO_LOUDER_DB = 6.0  # the user talking over the echo makes the input this much louder
ECHO_WAIT_CHUNKS = 3  # ~100 ms of an unclear echo measure before holding anyway
MIN_CHECK_MS = 150  # shorter bursts are noise: never transcribed
SHORT_MS = 700  # overlaps shorter than this need a word that asks for the floor


@dataclass
class Overlap:
    start_ms: int
    chunks: list[np.ndarray] = field(default_factory=list)
    speech_ms: float = 0.0
    check: asyncio.Task[str] | None = None
    checks_done: int = 0
    dismissed: bool = False  # judged echo: ignore until this overlap ends
    waved: bool = False  # judged a backchannel: the agent talks on
    levels: list[float] = field(default_factory=list)  # dB of its speech chunks
    far: bool = False  # quieter than the user by more than far_db: not for the agent
    echo: bool = False  # coherent with what the agent played: the agent's own voice
    unsure: int = 0  # chunks in a row whose echo measure was neither clearly echo nor not
    echo_db: float = 0.0  # its level when it was found to be echo

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)

    def level_db(self) -> float:
        return speech_level(self.levels)


def chunk_db(chunk: np.ndarray) -> float:
    return float(10 * np.log10(float(np.mean(np.square(chunk, dtype=np.float64))) + 1e-12))


def speech_level(levels: list[float]) -> float:
    """A speech stretch's level: the 90th percentile of its 32 ms chunk levels (dB), so
    soft syllables and gaps do not pull it down."""
    return float(np.percentile(levels, 90)) if levels else -120.0


class OverlapWatcher:
    def __init__(
        self, check: Callable[[np.ndarray], asyncio.Task[str]], far_db: float = 8.0
    ) -> None:
        self._check = check  # starts transcribing overlap audio in a worker thread
        self.far_db = far_db
        self.current: Overlap | None = None
        self.holding = False  # the agent should stay quiet while this overlap is judged

    def reset(self) -> None:
        self.current = None
        self.holding = False

    def on_chunk(
        self,
        chunk: np.ndarray,
        event: str | None,
        seg: VADSegmenter,
        recent: RecentAudio,
        input_ms: int,
        td: TurnDetection,
        agent_text: str,
        near_db: float | None = None,
        echo: Callable[[], float] | None = None,
        heard: list[np.ndarray] | None = None,
    ) -> Overlap | None:
        """Feed one chunk heard while the agent talks; returns the overlap on barge-in.
        ``near_db`` is the level of the user's own turns (None: not known yet); ``echo``
        measures how coherent the recent input is with what was played (see echo_check);
        ``heard`` is the recent input, this chunk last, as levels should be measured on it
        (before residual echo suppression; default: the chunks themselves)."""
        levels = heard if heard is not None else [*recent.snapshot(), chunk]
        ov = self._on_chunk(
            chunk, event, seg, recent, input_ms, td, agent_text, near_db, echo, levels
        )
        cur = self.current
        self.holding = (
            ov is None
            and cur is not None
            and not (cur.dismissed or cur.far or cur.echo or 0 < cur.unsure < ECHO_WAIT_CHUNKS)
            and (seg.in_speech or cur.check is not None)
            and not (cur.waved and not seg.in_speech)  # a backchannel that ended: talk on
        )
        return ov

    def _on_chunk(
        self,
        chunk: np.ndarray,
        event: str | None,
        seg: VADSegmenter,
        recent: RecentAudio,
        input_ms: int,
        td: TurnDetection,
        agent_text: str,
        near_db: float | None,
        echo: Callable[[], float] | None,
        heard: list[np.ndarray],
    ) -> Overlap | None:
        if event == "start" and self.current is None:
            start = input_ms - int(seg.speech_ms)
            onset = recent.snapshot()[-4:]
            self.current = Overlap(
                start, onset, seg.speech_ms, levels=[chunk_db(c) for c in heard[-5:-1]]
            )
        ov = self.current
        if ov is None:
            return None
        ov.chunks.append(chunk)
        if seg.in_speech:
            ov.levels.append(chunk_db(heard[-1]))
            # judged again as it goes on: someone across the room who walks up is near,
            # and the user who starts talking over the agent's echo is no echo
            ov.far = near_db is not None and ov.level_db() < near_db - self.far_db
            _update_echo(ov, echo() if echo is not None else 0.0, counting=not ov.far)
            if not ov.echo:  # the agent's own voice is not speech that asks for the floor
                ov.speech_ms += 0 if event == "start" else CHUNK_MS
        elif seg.silence_ms >= GAP_MS:
            self.current = None  # it ended without being a barge-in: the agent goes on
            return None
        if ov.far or ov.echo or ov.dismissed or (ov.check is not None and not ov.check.done()):
            return None
        if ov.check is not None:
            verdict = judge(ov.check.result(), ov.speech_ms, td, agent_text)
            ov.check = None
            if verdict == "interrupt" and echo is not None and echo() >= ECHO_VERDICT:
                verdict = "echo"  # the words were garbled, but the sound is the agent's own
            if verdict == "interrupt":
                self.current = None
                return ov
            if verdict == "echo":
                ov.dismissed = True
                return None
            ov.waved = True
        due = td.interrupt_min_speech_ms if ov.checks_done == 0 else td.backchannel_max_ms
        # a short burst that already ended is judged at once (the agent is holding for it)
        ended = ov.checks_done == 0 and not seg.in_speech and ov.speech_ms >= MIN_CHECK_MS
        if (ov.speech_ms >= due or ended) and ov.checks_done < 2:
            ov.checks_done += 1
            ov.check = self._check(ov.audio())
        return None


def _update_echo(ov: Overlap, peak: float, counting: bool) -> None:
    """Echo from a clear peak on, and for as long as the overlap lasts: the measure dips
    wherever the agent's own speech is quiet (phrase gaps, soft sounds). It stops being
    echo only when the input gets clearly louder than the echo was while the measure says
    it is no echo (the user talking over it). Before the first verdict, an unclear measure
    waits a few chunks before the agent holds (quiet chunks, an echo fading in, do not
    count)."""
    recent = speech_level(ov.levels[-5:])
    if peak >= ECHO_PEAK:
        if not ov.echo:
            ov.echo, ov.echo_db = True, recent
        ov.unsure = 0
    elif ov.echo:
        if peak < ECHO_CLEAR and recent > ov.echo_db + ECHO_LOUDER_DB:
            ov.echo = False
    elif peak < ECHO_CLEAR:
        ov.unsure = 0
    elif counting:
        ov.unsure += 1


def judge(text: str, speech_ms: float, td: TurnDetection, agent_text: str) -> str:
    if text and echo_similarity(text, agent_text) >= ECHO_SIMILARITY:
        return "echo"
    if is_backchannel(text) and speech_ms < td.backchannel_max_ms:
        return "wait"
    # a short burst with no word that asks for the floor is a backchannel Whisper misheard
    # ("mm-hmm" → "Emma.", "uh-huh" → "I've had.") or a noise, not an interruption
    if speech_ms < SHORT_MS and len(words(text)) <= 2 and not asks_for_floor(text):
        return "wait"
    return "interrupt"
