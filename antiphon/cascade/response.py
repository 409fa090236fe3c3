"""The life of one agent response, apart from how its words are made (responder.py).

A response is in one of five states (``ResponseState``):

    GATED ──release──▶ SPEAKING ──played out──▶ DONE (completed / failed)
      │                   │
      └─cancel─▶ DROPPED  └─cancel─▶ INTERRUPTED

A speculative response starts GATED: it computes, and its events are held until the end
of the user's turn is confirmed (``release``) or thrown away without a trace (``cancel``).
``cancel`` is the one way to stop a response, whatever its state: it stops the producer
(its task, and the cancel flag model calls poll once per token), flushes its audio, and
for a response the user was hearing keeps in the conversation only the words played
(``heard``, the one place that maps playback position to words).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from dataclasses import dataclass
from enum import Enum

from antiphon.cascade.conversation import Conversation, Message, heard_text
from antiphon.session.brain import BrainContext
from antiphon.session.events import (
    AudioChunk,
    ErrorEvent,
    Event,
    Metrics,
    ResponseDone,
    ResponseStarted,
)


class ResponseState(Enum):
    GATED = "gated"  # a speculation: computing, its events held back
    SPEAKING = "speaking"  # released: its events go out; generating and/or playing
    DONE = "done"  # ResponseDone sent: completed (played out) or failed
    INTERRUPTED = "interrupted"  # cancelled while the user heard it: heard words kept
    DROPPED = "dropped"  # a speculation cancelled before release: no trace


@dataclass
class Phrase:
    text: str
    start_ms: float  # on this response's audio timeline
    dur_ms: float


class ResponseHandle:
    """One response's state, its outgoing events and what the user heard of it. A subclass
    makes the content (``_produce``) through ``emit`` and ``add_phrase``."""

    def __init__(
        self,
        ctx: BrainContext,
        conv: Conversation,
        sep: str,
        speculative: bool,
        t_ref: float | None,
    ) -> None:
        self.ctx, self.conv, self._sep = ctx, conv, sep
        self.response_id = "resp_" + uuid.uuid4().hex[:12]
        self.item_id = "item_" + uuid.uuid4().hex[:12]
        self._state = ResponseState.GATED if speculative else ResponseState.SPEAKING
        self._released = asyncio.Event()
        if not speculative:
            self._released.set()
        self.cancelled = threading.Event()  # read by model calls on worker threads
        self.generated = asyncio.Event()  # not computing (settle() waits for it)
        self.task: asyncio.Task[None] | None = None
        self.metrics: dict[str, float] = {}
        self._t_ref = t_ref  # clock time of the user's end of speech, for metrics
        self._held: list[Event] = []
        self._send_lock = asyncio.Lock()
        self._started = False
        self._metrics_sent = False
        self.text = ""  # the words spoken so far (the phrases' text)
        self.raw_text = ""  # the model's own words, so the next turn reuses the KV cache
        self.phrases: list[Phrase] = []
        self.audio_ms = 0.0
        self.truncate_at_ms: int | None = None  # the client stopped playback here
        self.awaiting_client_tool = False  # ended in a call the client runs

    @property
    def state(self) -> ResponseState:
        return self._state

    def active(self) -> bool:
        """The agent is talking: released and not over, or its last audio still plays."""
        if self._state is ResponseState.SPEAKING:
            return True
        return self._state is not ResponseState.GATED and self.ctx.is_playing()

    # ---- producing --------------------------------------------------------------------
    async def _produce(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"respond-{self.response_id}")

    async def _run(self) -> None:
        try:
            await self._produce()
            self.generated.set()
            await self._released.wait()
            await self.emit(None)  # what a speculation prepared goes out before it ends
            await self._played_out()
            await self._finish("completed", None)
        except asyncio.CancelledError:
            self.generated.set()
            raise
        except Exception as exc:  # a broken stage ends this response, not the session
            self.generated.set()
            code = getattr(exc, "code", None)  # e.g. RemoteLLMError: llm_unavailable, llm_timeout
            code = code if isinstance(code, str) else "response_failed"
            await self.emit(ErrorEvent(code, f"response failed: {exc}"))
            await self._released.wait()  # a failed speculation that is dropped says nothing
            await self._finish("failed", str(exc))

    async def _played_out(self) -> None:
        """Until the listener has heard this response's audio (or nothing plays): sleeps
        for the audio still queued, again while a hold pauses playback."""
        while self.ctx.is_playing():
            left_ms = self.audio_ms - self.ctx.heard_ms(self.response_id)
            if left_ms <= 30:
                return
            await self.ctx.clock.sleep(max(left_ms, 20.0) / 1000.0)

    def mark(self, name: str) -> None:
        """A stage time after the user's end of speech, for the latency breakdown."""
        if self._t_ref is not None and name not in self.metrics:
            self.metrics[name] = (self.ctx.clock.now() - self._t_ref) * 1000.0

    def add_phrase(self, text: str, dur_ms: float) -> str:
        """A phrase about to be sent: it joins the timeline; returns its text delta."""
        delta = (self._sep if self.text else "") + text
        self.text += delta
        self.phrases.append(Phrase(text, self.audio_ms, dur_ms))
        self.audio_ms += dur_ms
        return delta

    def audio_lead_s(self) -> float:
        """Seconds of this response's audio made but not yet heard."""
        return max(0.0, self.audio_ms - self.ctx.heard_ms(self.response_id)) / 1000.0

    async def emit(self, event: Event | None) -> None:
        """Send an event (None: only flush), or hold it while the response is gated."""
        if self._state in (ResponseState.DROPPED, ResponseState.INTERRUPTED):
            return
        if not self._released.is_set():
            if event is not None:
                self._held.append(event)
            return
        async with self._send_lock:  # release and the producer both flush: keep the order
            held, self._held = self._held, []
            for ev in [*held, *([event] if event is not None else [])]:
                await self._send(ev)

    async def _send(self, event: Event) -> None:
        if not self._started:
            self._started = True
            await self.ctx.emit(ResponseStarted(self.response_id, self.item_id))
        if isinstance(event, AudioChunk) and not self._metrics_sent:
            self._metrics_sent = True
            self.mark("first_audio_out_ms")
            await self.ctx.emit(Metrics(self.response_id, dict(self.metrics)))
        await self.ctx.emit(event)

    async def wait_released(self) -> None:
        """Idle (not computing) until the turn is confirmed; ``generated`` tells settle()."""
        if self._released.is_set():
            return
        self.generated.set()
        await self._released.wait()
        self.generated.clear()

    # ---- transitions --------------------------------------------------------------------
    def release(self, metrics: dict[str, float] | None = None) -> None:
        """GATED → SPEAKING: the end of turn is confirmed; what was prepared goes out now."""
        if self._state is not ResponseState.GATED:
            return
        self.metrics.update(metrics or {})
        self._state = ResponseState.SPEAKING
        self._released.set()
        asyncio.ensure_future(self.emit(None))

    def truncate(self, item_id: str, audio_end_ms: int) -> bool:
        """The client stopped playing this response at ``audio_end_ms`` while it was still
        in progress: it keeps only what was heard when it ends."""
        if item_id != self.item_id or self._state is not ResponseState.SPEAKING:
            return False
        self.truncate_at_ms = audio_end_ms
        return True

    def heard(self, at_ms: float | None = None) -> str:
        """The words the user heard: whole phrases played by ``at_ms`` (default: now), and
        of the phrase then playing as many words as its played share."""
        at = self.ctx.heard_ms(self.response_id) if at_ms is None else at_ms
        timeline = [(p.text, p.start_ms, p.dur_ms) for p in self.phrases]
        return heard_text(timeline, at, self._sep)

    async def cancel(self, reason: str = "cancelled", announce: bool = True) -> str:
        """Stop the response now, in any state. GATED → DROPPED without a trace; SPEAKING →
        INTERRUPTED: output flushed, the heard words kept, ResponseDone "cancelled" (not
        when ``announce`` is false: the session is closing). Returns the heard words."""
        state = self._state
        if state in (ResponseState.GATED, ResponseState.DROPPED):
            self._state = ResponseState.DROPPED
            await self._stop()
            return ""
        if state is ResponseState.SPEAKING:
            self._state = ResponseState.INTERRUPTED
        if announce:  # (a failed response's last audio may still be playing)
            self.ctx.flush_output(self.response_id)
        heard_ms = self.ctx.heard_ms(self.response_id)
        await self._stop()
        heard = self.heard(heard_ms)
        if state is ResponseState.SPEAKING and announce:
            if heard:
                self.conv.add(Message("assistant", heard + "…"), self.item_id, self._timeline())
            done = ResponseDone(
                self.response_id, self.item_id, "cancelled", reason, heard, heard_ms
            )
            await self.ctx.emit(done)
        return heard

    async def _stop(self) -> None:
        self.cancelled.set()
        self._on_cancel()
        if self.task and not self.task.done() and self.task is not asyncio.current_task():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    def _on_cancel(self) -> None:
        """Hook for the producer: wake what waits on a worker thread."""

    async def _finish(self, status: str, reason: str | None) -> None:
        if self._state is not ResponseState.SPEAKING:
            return  # cancelled meanwhile: cancel() said what there was to say
        self._state = ResponseState.DONE
        if self.text and not self.awaiting_client_tool:
            said = self.raw_text.strip() or self.text
            if self.truncate_at_ms is not None:  # the client stopped playback early
                said = self.heard(self.truncate_at_ms)
            self.conv.add(Message("assistant", said), self.item_id, self._timeline())
        await self.ctx.emit(
            ResponseDone(self.response_id, self.item_id, status, reason, self.text)  # type: ignore[arg-type]
        )

    def _timeline(self) -> list[tuple[str, float, float]]:
        return [(p.text, p.start_ms, p.dur_ms) for p in self.phrases]
