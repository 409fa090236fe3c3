"""Virtual clock ordering, and the output pacer's real-time release, flush and
playback accounting."""

from __future__ import annotations

import asyncio

import numpy as np

from antiphon.session.clock import VirtualClock
from antiphon.session.events import AudioChunk
from antiphon.session.playout import OutputPacer

RATE = 24000


async def test_virtual_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, t: float) -> None:
        await clock.sleep_until(t)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper(n, t)) for n, t in [("b", 0.2), ("a", 0.1), ("c", 0.5)]]
    await asyncio.sleep(0)
    await clock.advance(0.3)
    assert woke == [("a", 0.1), ("b", 0.2)]
    await clock.advance(0.3)
    assert woke[-1] == ("c", 0.5)
    await asyncio.gather(*tasks)


async def _pacer(clock: VirtualClock) -> tuple[OutputPacer, list[AudioChunk]]:
    out: list[AudioChunk] = []

    async def release(c: AudioChunk) -> None:
        out.append(c)

    pacer = OutputPacer(clock, RATE, release, frame_ms=20)
    pacer.start()
    await asyncio.sleep(0)
    return pacer, out


async def test_pacer_releases_in_real_time_and_counts_what_was_heard() -> None:
    clock = VirtualClock()
    pacer, out = await _pacer(clock)
    pacer.enqueue(AudioChunk("r1", "i1", np.ones(RATE, np.float32), RATE))  # 1 s
    await clock.advance(0.0)
    assert len(out) == 1  # first frame goes out at once
    await clock.advance(0.5)
    released = sum(len(c.audio) for c in out) / RATE
    assert 0.5 <= released <= 0.54
    assert 480 <= pacer.heard_ms("r1") <= 520
    assert pacer.is_playing()
    await clock.advance(1.0)
    assert sum(len(c.audio) for c in out) == RATE
    assert pacer.heard_ms("r1") == 1000
    assert not pacer.is_playing()
    await pacer.stop()


async def test_flush_stops_output_within_one_frame() -> None:
    clock = VirtualClock()
    pacer, out = await _pacer(clock)
    pacer.enqueue(AudioChunk("r1", "i1", np.ones(2 * RATE, np.float32), RATE))
    await clock.advance(0.3)
    n_before = len(out)
    dropped = pacer.flush("r1")
    await clock.advance(1.0)
    assert len(out) == n_before  # nothing after the flush
    assert dropped > RATE  # the rest of the 2 s was dropped
    heard = pacer.heard_ms("r1")
    assert 280 <= heard <= 340
    assert not pacer.is_playing()
    await pacer.stop()


async def test_far_end_reference_follows_released_audio() -> None:
    clock = VirtualClock()
    pacer, out = await _pacer(clock)
    tone = np.sin(np.arange(RATE // 10) * 0.1).astype(np.float32)
    pacer.enqueue(AudioChunk("r1", "i1", tone, RATE))
    await clock.advance(0.2)
    far = pacer.take_far_end(len(tone))
    assert np.allclose(far, tone)
    assert not np.any(pacer.take_far_end(100))  # nothing more played: zeros
    await pacer.stop()
