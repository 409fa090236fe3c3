"""The output pacer's hold: nothing is released while held, playback picks up exactly where
it stopped, and a flush ends a hold."""

from __future__ import annotations

import numpy as np

from antiphon.session.clock import VirtualClock
from antiphon.session.events import AudioChunk
from antiphon.session.playout import OutputPacer

RATE = 16000


async def test_hold_pauses_and_resumes_without_losing_audio() -> None:
    clock = VirtualClock()
    out: list[AudioChunk] = []

    async def release(c: AudioChunk) -> None:
        out.append(c)

    pacer = OutputPacer(clock, RATE, release, frame_ms=20)
    pacer.start()
    audio = np.arange(RATE, dtype=np.float32) / RATE  # 1 s, every sample distinct
    pacer.enqueue(AudioChunk("r1", "i1", audio, RATE))
    await clock.advance(0.2)
    before = len(out)
    pacer.hold(True)
    await clock.advance(0.5)
    assert len(out) == before  # held: silent
    assert pacer.is_playing()  # … but the agent still has the floor
    pacer.hold(False)
    await clock.advance(1.0)
    played = np.concatenate([c.audio for c in out])
    assert np.array_equal(played, audio)  # resumed exactly where it stopped
    await pacer.stop()


async def test_flush_ends_a_hold() -> None:
    clock = VirtualClock()
    out: list[AudioChunk] = []

    async def release(c: AudioChunk) -> None:
        out.append(c)

    pacer = OutputPacer(clock, RATE, release, frame_ms=20)
    pacer.start()
    pacer.enqueue(AudioChunk("r1", "i1", np.ones(RATE, np.float32), RATE))
    await clock.advance(0.1)
    pacer.hold(True)
    pacer.flush("r1")
    assert not pacer.held and not pacer.is_playing()
    pacer.enqueue(AudioChunk("r2", "i2", np.ones(RATE // 10, np.float32), RATE))
    await clock.advance(0.2)
    assert out[-1].response_id == "r2"  # the next response plays
    await pacer.stop()
