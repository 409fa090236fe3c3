"""Session: one conversation. Owns the clock, the input path (format checks, resampling,
echo cancellation), output pacing and playback accounting, and hands the brain clean
frames. Protocol adapters talk to a Session with commands and read its events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
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
# Appends longer than this are resampled and echo-cancelled in a worker thread: shorter
# ones cost less inline than the hop (a 20 ms append: ~0.1 ms of work).
OFF_LOOP_MS = 100


# how far the received audio may trail the clock and still be accepted at once as it
# catches up (see Session._paced)
MAX_INPUT_LAG_S = 10.0


class Session:
    def __init__(
        self,
        brain: Brain,
        clock: Clock | None = None,
        output_rate: int = 24000,
        echo_cancel: bool = True,
        lead_ms: int = 0,
        max_event_queue: int = 0,
        max_input_lead_ms: int | None = None,
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
        # Input pacing: audio may run at most max_input_lead_ms ahead of the clock (None:
        # unpaced, for VirtualClock tests and offline runs). _input_end is the clock time
        # at which the audio received so far would have finished playing.
        self.max_input_lead_ms = max_input_lead_ms
        self._input_end: float | None = None
        self.refused_appends = 0
        # hooks for the server's metrics: every event emitted, and the session's end
        self.observe: Callable[[Event], None] | None = None
        self.on_close: list[Callable[[], None]] = []
        self._off_loop: asyncio.Future[list[tuple[np.ndarray, np.ndarray]]] | None = None
        self.refused_audio_s = 0.0

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
        if not await self._paced(len(audio) / cmd.sample_rate):
            return
        rs = self._resamplers.get(cmd.sample_rate)
        if rs is None:
            rs = self._resamplers[cmd.sample_rate] = StreamResampler(
                cmd.sample_rate, self.brain.input_rate
            )
        # the far-end reference is taken here, on the loop (the pacer lives there); the
        # CPU work (resample, echo cancellation) runs off the loop when it is large
        frames = self._aec_framer.push(rs(audio))
        fars = [self.pacer.take_far_end(len(f)) for f in frames]
        if len(audio) * 1000 > OFF_LOOP_MS * cmd.sample_rate:
            loop = asyncio.get_running_loop()
            self._off_loop = loop.run_in_executor(None, self._cancel_echo, frames, fars)
            # close() waits for it: the canceller's C state must outlive the thread's call
            cleaned = await asyncio.shield(self._off_loop)
        else:
            cleaned = self._cancel_echo(frames, fars)
        for (frame, linear), far in zip(cleaned, fars, strict=True):
            self._input_samples += len(frame)
            self._far_pos = _ring_put(self._far_hist, self._far_pos, far)
            self._lin_pos = _ring_put(self._lin_hist, self._lin_pos, linear)
            await self.brain.push_audio(frame)

    def _cancel_echo(
        self, frames: list[np.ndarray], fars: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(echo-cancelled frame, frame after the linear filter) for each input frame."""
        out = []
        for frame, far in zip(frames, fars, strict=True):
            linear = frame
            if self._aec is not None:
                if np.any(far):
                    frame = self._aec.process(frame, far)
                    linear = self._aec.last_linear
                else:
                    self._aec.process(frame, far)  # keep the filter's timeline moving
            out.append((frame, linear))
        return out

    async def _paced(self, seconds: float) -> bool:
        """Audio running ahead of real time beyond the allowed lead is refused (and
        counted): a client that sends minutes of audio in a second would otherwise make the
        server do minutes of work at once, ahead of every other session."""
        if self.max_input_lead_ms is None:
            return True
        now = self.clock.now()
        # The audio timeline may fall behind the clock (a pause in sending, or this session
        # processing its queue late after a slow step) by up to MAX_INPUT_LAG_S and catch up
        # without refusal: restarting it at `now` whenever it fell behind refused a
        # real-time client's queued appends as a "lead" once the server had lagged 2 s.
        start = self._input_end if self._input_end is not None else now
        end = max(start, now - MAX_INPUT_LAG_S) + seconds
        lead = end - now
        if lead * 1000 > self.max_input_lead_ms:
            self.refused_appends += 1
            self.refused_audio_s += seconds
            await self._emit(
                ErrorEvent(
                    "input_audio_ahead_of_real_time",
                    f"this append of {seconds * 1000:.0f} ms was dropped: it would put the "
                    f"input {lead:.2f} s ahead of real time (the limit is "
                    f"{self.max_input_lead_ms / 1000:.1f} s); send audio at real-time pace",
                )
            )
            return False
        self._input_end = end
        return True

    def counters(self) -> tuple[int, float, int, float]:
        """(late output frames, late output s, refused appends, refused audio s)."""
        return (
            self.pacer.late_frames,
            self.pacer.late_s,
            self.refused_appends,
            self.refused_audio_s,
        )

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
        if self.observe is not None:
            self.observe(event)
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
        if self._off_loop is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait([self._off_loop])
        if self._aec is not None:
            self._aec.close()
        for hook in self.on_close:
            hook()
        if not self._events.full():
            self._events.put_nowait(None)  # ends events() for the adapter


def _ring_put(ring: np.ndarray, pos: int, data: np.ndarray) -> int:
    idx = (pos + np.arange(len(data))) % len(ring)
    ring[idx] = data
    return (pos + len(data)) % len(ring)


def _ring_get(ring: np.ndarray, pos: int, n: int) -> np.ndarray:
    n = min(n, len(ring))
    return ring[(pos - n + np.arange(n)) % len(ring)]
