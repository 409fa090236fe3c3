"""A scripted user: plays utterances into a Session on its clock, optionally feeds the
agent's own output back as echo, and records both channels with every event.

Used by `antiphon demo`, `antiphon respond`, the latency benchmark and the tests. With a
RealClock audio is paced in real time (latency measurements); with a VirtualClock the
session is settled after every frame, so compute takes no time on the audio timeline and
runs are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from antiphon.audio.io import resample
from antiphon.session.clock import VirtualClock
from antiphon.session.commands import AppendAudio
from antiphon.session.events import AudioChunk, Event, ResponseDone, ResponseStarted
from antiphon.session.session import Session

FRAME_MS = 20
NO_REPLY_S = 6.0  # "after_agent" goes ahead anyway when no reply came this long


@dataclass
class Utterance:
    audio: np.ndarray  # float32 mono at the script's sample rate
    # when to start: "after_agent" = once the agent finished speaking (plus gap_s);
    # "agent_speaking" = barge in start_s after the agent's audio of the reply began;
    # "at" = at absolute time start_s
    when: Literal["after_agent", "agent_speaking", "at"] = "after_agent"
    start_s: float = 0.0
    gap_s: float = 0.8
    label: str = ""


@dataclass
class Played:
    label: str
    start_s: float
    speech_end_s: float  # end of the voiced part (trailing silence excluded)


@dataclass
class Recording:
    sample_rate: int
    user: np.ndarray
    agent: np.ndarray
    events: list[tuple[float, Event]] = field(default_factory=list)
    played: list[Played] = field(default_factory=list)

    def first_audio_after(self, t: float) -> float | None:
        for ts, ev in self.events:
            if ts >= t and isinstance(ev, AudioChunk):
                return ts
        return None


def voiced_end(audio: np.ndarray, rate: int, floor_db: float = -40.0) -> float:
    """Seconds until the last 10 ms frame louder than floor_db below the peak."""
    hop = rate // 100
    n = len(audio) // hop
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    loud = np.nonzero(20 * np.log10(rms / (rms.max() + 1e-12)) > floor_db)[0]
    return float((loud[-1] + 1) * hop / rate) if len(loud) else 0.0


@dataclass
class Echo:
    delay_ms: int = 80
    gain_db: float = -10.0


async def run_script(
    session: Session,
    script: list[Utterance],
    sample_rate: int = 16000,
    echo: Echo | None = None,
    tail_s: float = 3.0,
    max_s: float = 120.0,
    on_event: object = None,
) -> Recording:
    """Play the script; stop when it is done and the agent has been quiet for tail_s."""
    clock = session.clock
    virtual = isinstance(clock, VirtualClock)
    frame = sample_rate * FRAME_MS // 1000
    t0 = clock.now()
    user_track: list[np.ndarray] = []
    agent_out: list[tuple[float, np.ndarray]] = []
    rec = Recording(sample_rate, np.zeros(0), np.zeros(0))
    pending = list(script)
    current: np.ndarray | None = None
    pos = 0
    agent_busy = False
    agent_quiet_since = 0.0
    # responses started since the current utterance began, and whether one of them finished:
    # the reply a barge-in cut off finishes after the next utterance began, but is no answer
    fresh: set[str] = set()
    answered_fresh = False
    last_end = 0.0  # when the last utterance finished playing
    reply_audio_start: float | None = None
    echo_line = np.zeros(0, dtype=np.float32)  # what the microphone hears of the agent
    echo_cursor = 0
    step = 0
    while True:
        now = clock.now() - t0
        # -- events since the last frame
        while (ev := session.next_event_nowait()) is not None:
            rec.events.append((now, ev))
            if callable(on_event):
                on_event(now, ev)
            if isinstance(ev, ResponseStarted):
                agent_busy, reply_audio_start = True, None
                fresh.add(ev.response_id)
            elif isinstance(ev, ResponseDone):
                agent_busy = False
                answered_fresh = answered_fresh or ev.response_id in fresh
            elif isinstance(ev, AudioChunk):
                if reply_audio_start is None:
                    reply_audio_start = now
                a = resample(ev.audio, ev.sample_rate, sample_rate)
                agent_out.append((now, a))
                if echo is not None:
                    at = max(step * frame + sample_rate * echo.delay_ms // 1000, echo_cursor)
                    if len(echo_line) < at + len(a):
                        echo_line = np.concatenate(
                            [echo_line, np.zeros(at + len(a) - len(echo_line), np.float32)]
                        )
                    echo_line[at : at + len(a)] += a * 10 ** (echo.gain_db / 20)
                    echo_cursor = at + len(a)
        playing = session.pacer.is_playing()
        if agent_busy or playing:
            agent_quiet_since = now
        # -- start the next utterance when its moment has come
        if current is None and pending:
            u = pending[0]
            answered = answered_fresh or now - last_end >= NO_REPLY_S
            ready = (
                (u.when == "at" and now >= u.start_s)
                or (
                    u.when == "after_agent"
                    and answered
                    and not agent_busy
                    and not playing
                    and now - max(agent_quiet_since, last_end) >= u.gap_s
                )
                or (
                    u.when == "agent_speaking"
                    and reply_audio_start is not None
                    and now - reply_audio_start >= u.start_s
                )
            )
            if ready:
                pending.pop(0)
                current, pos = u.audio, 0
                fresh.clear()
                answered_fresh = False
                reply_audio_start = None  # "agent_speaking" means the reply to come
                rec.played.append(Played(u.label, now, now + voiced_end(u.audio, sample_rate)))
        # -- one frame of user audio (plus echo of what the agent played)
        chunk = np.zeros(frame, dtype=np.float32)
        if current is not None:
            part = current[pos : pos + frame]
            chunk[: len(part)] = part
            pos += frame
            if pos >= len(current):
                current, last_end = None, now
        if echo is not None:
            e = echo_line[step * frame : (step + 1) * frame]
            chunk[: len(e)] += e
        user_track.append(chunk)
        await session.send(AppendAudio(chunk, sample_rate))
        step += 1
        if virtual:
            await session.settle()
            assert isinstance(clock, VirtualClock)
            await clock.advance(FRAME_MS / 1000)
        else:
            await clock.sleep_until(t0 + step * FRAME_MS / 1000)
        done = current is None and not pending and not agent_busy and not playing
        if (done and now - max(agent_quiet_since, last_end) >= tail_s) or now >= max_s:
            break
    rec.user = np.concatenate(user_track) if user_track else np.zeros(0, np.float32)
    rec.agent = _place(agent_out, len(rec.user), sample_rate)
    return rec


def _place(chunks: list[tuple[float, np.ndarray]], length: int, rate: int) -> np.ndarray:
    """Lay the agent's chunks on the timeline at the time each was released."""
    out = np.zeros(length, dtype=np.float32)
    cursor = 0
    for t, a in chunks:
        start = max(int(t * rate), cursor)
        end = min(start + len(a), length)
        if end > start:
            out[start:end] += a[: end - start]
        cursor = start + len(a)
    return out
