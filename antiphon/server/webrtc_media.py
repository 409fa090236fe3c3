"""Audio between a Session and a WebRTC peer: RTP frames in → float32 mono for the session;
agent audio out → 20 ms frames at 48 kHz on an aiortc track (Opus is negotiated by aiortc).

The outgoing track also tells the adapter when the peer starts and stops hearing a
response (`output_audio_buffer.started` / `stopped` in the Realtime protocol)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import Callable

import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RtpPacket

from antiphon.audio.io import StreamResampler

RTP_RATE = 48000
FRAME_SAMPLES = RTP_RATE // 50  # 20 ms, Opus's usual packet


class ArrivalBuffer(JitterBuffer):
    """Each audio RTP packet is decoded the moment it arrives.

    aiortc's buffer sees a frame complete only when the next packet (a new timestamp)
    arrives: 20 ms late with prefetch=1, 80 ms with its default of 4. An Opus packet is a
    whole frame, and the server plays nothing out (the session takes input as it comes), so
    there is nothing to wait for. A packet older than the last one decoded (late, or a
    duplicate) is dropped: its moment has passed."""

    def __init__(self) -> None:
        super().__init__(capacity=16)
        self._last: int | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if self._last is not None and not 0 < (seq - self._last) % 65536 < 0x8000:
            return False, None
        self._last = seq
        data: bytes = getattr(packet, "_data", b"")  # the depayloaded frame (aiortc sets it)
        return False, JitterFrame(data=data, timestamp=packet.timestamp)


def low_latency_input(pc: RTCPeerConnection) -> bool:
    """Replace aiortc's receive jitter buffer for audio with an ArrivalBuffer. aiortc has no
    setting for it, so its (name-mangled) buffer is swapped; False when this aiortc version
    has none."""
    done = False
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if transceiver.kind == "audio" and hasattr(receiver, "_RTCRtpReceiver__jitter_buffer"):
            receiver._RTCRtpReceiver__jitter_buffer = ArrivalBuffer()
            done = True
    return done


def frame_to_mono(frame: av.AudioFrame) -> np.ndarray:
    """A decoded RTP frame (packed or planar, any channel count) → float32 mono."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = data.astype(np.float32).mean(axis=0)
    else:
        mono = data.reshape(-1, channels).astype(np.float32).mean(axis=1)
    if data.dtype == np.int16:
        mono /= 32768.0
    elif data.dtype == np.int32:
        mono /= 2147483648.0
    return mono.astype(np.float32, copy=False)


class AgentAudioTrack(MediaStreamTrack):
    """Plays agent audio in real time; silence whenever nothing is queued (RTP never stops,
    so the peer's jitter buffer stays primed).

    on_started(response_id) fires with the first frame of a response that goes out;
    on_stopped(response_id) when a finished response's last frame went out."""

    kind = "audio"

    def __init__(
        self,
        source_rate: int,
        on_started: Callable[[str], None],
        on_stopped: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._source_rate = source_rate
        self._resampler = StreamResampler(source_rate, RTP_RATE)
        self._chunks: deque[tuple[str, np.ndarray]] = deque()
        self._finished: set[str] = set()
        self._playing: str | None = None
        self._on_started, self._on_stopped = on_started, on_stopped
        self._start: float | None = None
        self._pts = 0
        self._arrived = asyncio.Event()  # audio pushed while the track sends silence

    def push(self, audio: np.ndarray, response_id: str) -> None:
        pcm = self._resampler(audio)
        if len(pcm):
            self._chunks.append((response_id, pcm))
            self._arrived.set()

    def finish(self, response_id: str) -> None:
        """No more audio will come for this response; `stopped` fires once it has drained."""
        # the resampler holds back its last ~30 ms until told the stream ended: without this
        # the tail would open the next response instead of closing this one
        tail = self._resampler(np.zeros(0, np.float32), last=True)
        self._resampler = StreamResampler(self._source_rate, RTP_RATE)
        if len(tail) and any(rid == response_id for rid, _ in self._chunks):
            self._chunks.append((response_id, tail))
        self._finished.add(response_id)
        if self._playing == response_id and not self._chunks:
            self._stop_playing()

    def clear(self) -> str | None:
        """Barge-in: drop everything queued. Returns the response that was audible, if any."""
        playing = self._playing
        self._chunks.clear()
        self._resampler = StreamResampler(self._source_rate, RTP_RATE)
        self._playing = None
        return playing

    @property
    def playing(self) -> str | None:
        return self._playing

    def _stop_playing(self) -> None:
        rid, self._playing = self._playing, None
        if rid is not None:
            self._finished.discard(rid)
            self._on_stopped(rid)

    def _take(self, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        filled = 0
        while filled < n and self._chunks:
            rid, pcm = self._chunks[0]
            if rid != self._playing:
                if self._playing is not None:
                    self._stop_playing()
                self._playing = rid
                self._on_started(rid)
            take = min(n - filled, len(pcm))
            out[filled : filled + take] = pcm[:take]
            filled += take
            if take == len(pcm):
                self._chunks.popleft()
            else:
                self._chunks[0] = (rid, pcm[take:])
        if not self._chunks and self._playing in self._finished:
            self._stop_playing()
        return out

    async def _pace(self, wait: float) -> None:
        """Wait for this frame's tick; but while the track sends silence, the first audio of
        a response goes out at once (up to 20 ms sooner) and the clock restarts from it."""
        if self._playing is not None:  # mid-response: real time
            await asyncio.sleep(wait)
            return
        if not self._chunks:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), wait)
            except TimeoutError:
                return
        assert self._start is not None
        self._start = time.monotonic() - self._pts / RTP_RATE

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            from aiortc.mediastreams import MediaStreamError

            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / RTP_RATE - time.monotonic()
            if wait > 0:
                await self._pace(wait)
        samples = self._take(FRAME_SAMPLES)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RTP_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RTP_RATE)
        return frame
