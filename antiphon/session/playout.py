"""Output pacing and playback accounting.

Brains produce audio in bursts (a TTS phrase, a codec frame). The pacer releases it to the
client in fixed frames at real-time rate (plus a configurable lead for network jitter), so
that a barge-in stops output within one frame, and so the session knows, at any moment, how
much of each response the user has actually heard. Released audio is also kept as the
far-end reference for the echo canceller.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from antiphon.audio.echo_reference import EchoReference
from antiphon.session.clock import Clock
from antiphon.session.events import AudioChunk


@dataclass
class _Pending:
    response_id: str
    item_id: str
    audio: np.ndarray  # remaining samples at the output rate


class OutputPacer:
    def __init__(
        self,
        clock: Clock,
        sample_rate: int,
        release: Callable[[AudioChunk], Awaitable[None]],
        frame_ms: int = 20,
        lead_ms: int = 0,
        reference_rate: int | None = None,
    ) -> None:
        self.clock = clock
        self.sample_rate = sample_rate
        self.frame = sample_rate * frame_ms // 1000
        self.lead_s = lead_ms / 1000.0
        self._release = release
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._play_end = 0.0  # clock time at which all released audio has been played
        self._released: dict[str, int] = {}  # response_id -> samples released
        self.reference = EchoReference(sample_rate, reference_rate or sample_rate)
        self._task: asyncio.Task[None] | None = None
        self._held = False
        # underruns: playback ran dry in the middle of a response (the listener heard a gap)
        self._last_rid: str | None = None
        self.late_frames = 0
        self.late_s = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="output-pacer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def enqueue(self, chunk: AudioChunk) -> None:
        if chunk.sample_rate != self.sample_rate:
            raise ValueError(f"pacer runs at {self.sample_rate} Hz, got {chunk.sample_rate} Hz")
        if len(chunk.audio):
            self._queue.append(_Pending(chunk.response_id, chunk.item_id, chunk.audio))
            self._wake.set()

    def hold(self, on: bool) -> None:
        """Pause (True) or resume (False) releasing audio; what is queued is kept. While a
        brain decides whether overlapping speech is a barge-in, the agent goes quiet within
        one frame and picks up where it stopped if it was not (a false interruption)."""
        self._held = on
        self._last_rid = None  # a gap made on purpose is no underrun
        self._wake.set()

    @property
    def held(self) -> bool:
        return self._held

    def flush(self, response_id: str | None = None) -> int:
        """Drop unreleased audio (of one response or all) and stop playback now; a hold
        ends with it.

        Returns the number of samples dropped."""
        self._held = False
        self._last_rid = None
        dropped = 0
        keep: deque[_Pending] = deque()
        for p in self._queue:
            if response_id is None or p.response_id == response_id:
                dropped += len(p.audio)
            else:
                keep.append(p)
        self._queue = keep
        self._play_end = min(self._play_end, self.clock.now())
        return dropped

    def heard_ms(self, response_id: str) -> int:
        """Milliseconds of this response that have reached the listener's ears."""
        released = self._released.get(response_id, 0) / self.sample_rate
        unplayed = max(0.0, self._play_end - self.clock.now())
        return max(0, int(round((released - unplayed) * 1000)))

    def is_playing(self) -> bool:
        return bool(self._queue) or self._play_end > self.clock.now()

    def take_far_end(self, n: int) -> np.ndarray:
        """The next n samples of what was played, aligned with the input (see
        EchoReference). Held audio is not on its way, so it runs up no debt."""
        on_its_way = (bool(self._queue) and not self._held) or self._play_end > self.clock.now()
        return self.reference.take(n, on_its_way)

    async def _run(self) -> None:
        while True:
            if not self._queue or self._held:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self.clock.now()
            if self._play_end < now:  # playback ran dry: restart the playout cursor
                gap = now - self._play_end
                if (
                    self._queue[0].response_id == self._last_rid
                    and gap > self.frame / self.sample_rate
                ):
                    self.late_frames += 1
                    self.late_s += gap
                self._play_end = now
            release_at = self._play_end - self.lead_s
            if release_at > now:
                await self.clock.sleep_until(release_at)
                continue  # the queue may have been flushed meanwhile
            head = self._queue[0]
            # whole frames across the brain's chunk boundaries (a short frame only at the
            # end of a response), so playback and the echo reference stay on a fixed grid
            while len(head.audio) < self.frame and len(self._queue) > 1:
                nxt = self._queue[1]
                if nxt.response_id != head.response_id:
                    break
                head.audio = np.concatenate([head.audio, nxt.audio])
                del self._queue[1]
            frame, rest = head.audio[: self.frame], head.audio[self.frame :]
            if len(rest):
                head.audio = rest
            else:
                self._queue.popleft()
            rid = self._last_rid = head.response_id
            self._released[rid] = self._released.get(rid, 0) + len(frame)
            self._play_end += len(frame) / self.sample_rate
            self.reference.push(frame)
            await self._release(AudioChunk(rid, head.item_id, frame, self.sample_rate))
