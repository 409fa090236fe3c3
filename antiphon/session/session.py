"""Session: one conversation. Owns the clock, the input path (format checks, resampling,
echo cancellation), output pacing and playback accounting, and hands the brain clean
frames. Protocol adapters talk to a Session with commands and read its events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import numpy as np

from antiphon.audio.frames import Framer
from antiphon.audio.io import AudioFormatError, StreamResampler, to_mono_float32
from antiphon.session.brain import Brain, BrainContext
from antiphon.session.clock import Clock, RealClock
from antiphon.session.commands import AppendAudio, Command
from antiphon.session.events import AudioChunk, ErrorEvent, Event

if TYPE_CHECKING:
    from antiphon.audio.aec import EchoCanceller

from antiphon.session.playout import OutputPacer

SUPPORTED_INPUT_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
AEC_FRAME_MS = 10


class Session:
    def __init__(
        self,
        brain: Brain,
        clock: Clock | None = None,
        output_rate: int = 24000,
        echo_cancel: bool = True,
        lead_ms: int = 0,
        max_event_queue: int = 0,
    ) -> None:
        self.brain = brain
        self.clock = clock or RealClock()
        self.output_rate = output_rate
        self._events: asyncio.Queue[Event | None] = asyncio.Queue(max_event_queue)
        self.pacer = OutputPacer(
            self.clock, output_rate, self._emit, lead_ms=lead_ms, reference_rate=brain.input_rate
        )
        self._resamplers: dict[int, StreamResampler] = {}
        self._aec: EchoCanceller | None = None
        self._echo_cancel = echo_cancel
        self._aec_framer = Framer(brain.input_rate * AEC_FRAME_MS // 1000)
        self._input_samples = 0
        self._far_hist = np.zeros(brain.input_rate * 2, dtype=np.float32)  # ring: last 2 s played
        self._far_pos = 0
        self._lin_hist = np.zeros(brain.input_rate, dtype=np.float32)  # ring: input, unsuppressed
        self._lin_pos = 0
        self._closed = False
        self.dropped_events = 0

    async def start(self) -> None:
        if self._echo_cancel:
            from antiphon.audio.aec import EchoCanceller

            self._aec = EchoCanceller(sample_rate=self.brain.input_rate, frame_ms=AEC_FRAME_MS)
        self.pacer.start()
        ctx = BrainContext(
            clock=self.clock,
            emit=self._from_brain,
            heard_ms=self.pacer.heard_ms,
            flush_output=self._flush,
            is_playing=self.pacer.is_playing,
            input_ms=self.input_ms,
            output_rate=self.output_rate,
            hold_output=self.pacer.hold,
            far_end=self.recent_far,
            unsuppressed_input=self.recent_unsuppressed,
        )
        await self.brain.start(ctx)

    async def __aenter__(self) -> Session:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def input_ms(self) -> int:
        return self._input_samples * 1000 // self.brain.input_rate

    async def send(self, command: Command) -> None:
        """Apply one command. Bad input becomes an error event; the session lives on."""
        if self._closed:
            raise RuntimeError("session is closed")
        try:
            if isinstance(command, AppendAudio):
                await self._append(command)
            else:
                await self.brain.handle(command)
        except AudioFormatError as exc:
            await self._emit(ErrorEvent("invalid_audio", str(exc)))
        except ValueError as exc:
            await self._emit(ErrorEvent("invalid_command", str(exc)))

    async def _append(self, cmd: AppendAudio) -> None:
        if cmd.sample_rate not in SUPPORTED_INPUT_RATES:
            raise AudioFormatError(
                f"unsupported sample rate {cmd.sample_rate} Hz; use one of {SUPPORTED_INPUT_RATES}"
            )
        audio = to_mono_float32(cmd.audio)
        if not len(audio):
            return
        rs = self._resamplers.get(cmd.sample_rate)
        if rs is None:
            rs = self._resamplers[cmd.sample_rate] = StreamResampler(
                cmd.sample_rate, self.brain.input_rate
            )
        audio = rs(audio)
        for frame in self._aec_framer.push(audio):
            self._input_samples += len(frame)
            far = self.pacer.take_far_end(len(frame))
            self._far_pos = _ring_put(self._far_hist, self._far_pos, far)
            linear = frame
            if self._aec is not None:
                if np.any(far):
                    frame = self._aec.process(frame, far)
                    linear = self._aec.last_linear
                else:
                    self._aec.process(frame, far)  # keep the filter's timeline moving
            self._lin_pos = _ring_put(self._lin_hist, self._lin_pos, linear)
            await self.brain.push_audio(frame)

    def recent_far(self, n: int) -> np.ndarray:
        """The last n samples of what was played (at the brain's rate), aligned with the
        input pushed so far: zeros where nothing played."""
        return _ring_get(self._far_hist, self._far_pos, n)

    def recent_unsuppressed(self, n: int) -> np.ndarray:
        """The last n input samples after the echo filter, before residual suppression."""
        return _ring_get(self._lin_hist, self._lin_pos, n)

    async def settle(self) -> None:
        await self.brain.settle()

    def _flush(self, response_id: str | None) -> None:
        self.pacer.flush(response_id)

    async def _from_brain(self, event: Event) -> None:
        if isinstance(event, AudioChunk):
            self.pacer.enqueue(event)  # reaches the client through the pacer
        else:
            await self._emit(event)

    async def _emit(self, event: Event) -> None:
        if self._closed:
            return
        if self._events.maxsize and self._events.full() and isinstance(event, AudioChunk):
            self.dropped_events += 1  # a stalled consumer loses audio, never control events
            return
        await self._events.put(event)

    async def events(self) -> AsyncIterator[Event]:
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    def next_event_nowait(self) -> Event | None:
        try:
            event = self._events.get_nowait()
        except asyncio.QueueEmpty:
            return None
        return event

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self.brain.close()
        await self.pacer.stop()
        if self._aec is not None:
            self._aec.close()
        if not self._events.full():
            self._events.put_nowait(None)  # ends events() for the adapter


def _ring_put(ring: np.ndarray, pos: int, data: np.ndarray) -> int:
    idx = (pos + np.arange(len(data))) % len(ring)
    ring[idx] = data
    return (pos + len(data)) % len(ring)


def _ring_get(ring: np.ndarray, pos: int, n: int) -> np.ndarray:
    n = min(n, len(ring))
    return ring[(pos - n + np.arange(n)) % len(ring)]
