"""The WebRTC audio path's own latency: incoming packets are decoded on arrival, and a
response's first audio leaves without waiting for the next tick of the silence stream."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from aiortc.rtp import RtpPacket

from antiphon.server.webrtc_media import AgentAudioTrack, ArrivalBuffer


def _packet(seq: int) -> RtpPacket:
    p = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
    p._data = bytes([seq % 256])  # type: ignore[attr-defined]
    return p


def test_each_packet_is_a_frame_at_once_and_late_ones_are_dropped() -> None:
    buf = ArrivalBuffer()
    got = [buf.add(_packet(s))[1] for s in (65534, 65535, 0, 1)]  # across the wrap
    assert [f.timestamp for f in got if f is not None] == [s * 960 for s in (65534, 65535, 0, 1)]
    assert buf.add(_packet(1))[1] is None  # duplicate
    assert buf.add(_packet(65535))[1] is None  # late: its moment has passed
    frame = buf.add(_packet(3))[1]  # a gap does not stall anything
    assert frame is not None and frame.data == bytes([3])


async def test_first_audio_of_a_response_does_not_wait_for_the_tick() -> None:
    track = AgentAudioTrack(24000, lambda rid: None, lambda rid: None)
    delays = []
    for i in range(5):
        await track.recv()  # a silence frame has just gone: the next tick is 20 ms away
        pushed = time.monotonic()
        track.push(np.full(2400, 0.5, np.float32), f"resp_{i}")
        while True:
            frame = await track.recv()
            if np.abs(frame.to_ndarray()).max() > 1000:
                break
        delays.append(time.monotonic() - pushed)
        track.finish(f"resp_{i}")
        while track.playing is not None:
            await track.recv()  # drain back to silence
    # without the early start each delay is ~20 ms; load can only lengthen some of them
    assert min(delays) < 0.008, delays
    track.stop()
    await asyncio.sleep(0)


async def test_a_response_ends_with_its_own_tail_not_the_next_ones_start() -> None:
    stopped: list[str] = []
    track = AgentAudioTrack(24000, lambda rid: None, stopped.append)
    await track.recv()
    track.push(np.full(2400, 0.5, np.float32), "resp_a")  # 100 ms
    track.finish("resp_a")
    heard = []
    while not stopped:
        heard.append((await track.recv()).to_ndarray().ravel())
    loud = np.concatenate(heard) > 8000
    assert abs(int(loud.sum()) - 4800) < 200  # all 100 ms at 48 kHz, before `stopped`
    track.push(np.full(2400, -0.5, np.float32), "resp_b")
    first = (await track.recv()).to_ndarray().ravel()
    assert first.max() < 8000  # nothing of resp_a left over
    track.stop()
