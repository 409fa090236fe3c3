"""The end-to-end brain: a Moshi-family full-duplex model behind the session interface.

Every 80 ms of user audio goes through Mimi encode → LM step → Mimi decode, in arrival
order on one worker thread (torch releases the GIL), and comes back as the same events the
cascade emits: an agent turn (ResponseStarted … AudioChunk / AgentTextDelta … ResponseDone)
spans the frames whose inner monologue has words (``turns.AgentTurns``), and user speech
started/stopped follow the input level. The model hears every frame, its own turns
included, so barge-in, backchannels and overlap are its decisions: there is no VAD in the
loop. When the client stops sending audio the model keeps running on silence, in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from antiphon.audio.io import StreamResampler
from antiphon.e2e.hub import E2EHub
from antiphon.e2e.stack import E2EStack, FrameEngine, FrameOut
from antiphon.e2e.turns import AgentTurns, UserActivity
from antiphon.lm.sampling import SamplingParams
from antiphon.session.brain import BrainContext
from antiphon.session.commands import (
    CancelResponse,
    Command,
    Configure,
    CreateResponse,
    ToolResult,
    UserText,
)
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    Metrics,
    ResponseDone,
    ResponseStarted,
    UserSpeechStarted,
    UserSpeechStopped,
)

IDLE_FRAMES = 2  # input silent this many frame periods -> the model runs on silence
# Frames waiting for the model: past this bound the model is slower than real time, and the
# oldest frame is dropped (and reported) instead of letting the reply's latency grow.
MAX_QUEUED_FRAMES = 4  # 320 ms
DROP_REPORT_EVERY = 25  # while dropping, one error event per 2 s of dropped input


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class E2EBrain:
    """One conversation. Alone it runs its own ``FrameEngine``; with ``hub`` it takes a slot
    of the hub's batched engine (several conversations, one step per frame)."""

    def __init__(
        self,
        stack: E2EStack,
        params: SamplingParams | None = None,
        hub: E2EHub | None = None,
        max_queue: int = MAX_QUEUED_FRAMES,
        seed: int | None = None,
    ) -> None:
        self.stack = stack
        self.input_rate = stack.sample_rate
        self.hub = hub
        self.seed = seed
        self.engine = FrameEngine(stack, params) if hub is None else None
        self.slot: int | None = None
        self.agent = AgentTurns()
        self.user = UserActivity()
        self._pending = np.zeros(0, np.float32)
        self._frames: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=max_queue)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="e2e")
        self._tasks: list[asyncio.Task[None]] = []
        self._last_input = 0.0
        self._response: tuple[str, str] | None = None  # (response_id, item_id)
        self._text: list[str] = []
        self._muted = False  # after a cancel: drop the turn's remaining output
        self._preroll: np.ndarray | None = None
        self._user_item = ""
        self._user_stopped_ms: int | None = None
        self._compute_ms: list[float] = []  # per frame, since the current turn started
        self._turn_metrics: dict[str, float] = {}
        self.frames_done = 0
        self.frames_late = 0  # frames whose compute took longer than a frame
        self.frames_dropped = 0  # input frames dropped because the queue was full
        self._dropping = False

    @property
    def frame_s(self) -> float:
        return self.stack.frame_size / self.stack.sample_rate

    async def start(self, ctx: BrainContext) -> None:
        self.ctx = ctx
        self._out = StreamResampler(self.stack.sample_rate, ctx.output_rate)
        self._last_input = ctx.clock.now()
        self._tasks = [asyncio.create_task(self._idle_feeder(), name="e2e-idle")]
        if self.hub is None:
            self._tasks.append(asyncio.create_task(self._run(), name="e2e-frames"))
        else:
            self.slot = self.hub.attach(self, self.seed)

    @property
    def frame_queue(self) -> asyncio.Queue[np.ndarray]:
        return self._frames

    async def _enqueue(self, pcm: np.ndarray) -> None:
        if self._frames.full():
            self._frames.get_nowait()
            self._frames.task_done()
            self.frames_dropped += 1
            if not self._dropping or self.frames_dropped % DROP_REPORT_EVERY == 0:
                await self.ctx.emit(
                    ErrorEvent(
                        "frames_dropped",
                        f"the model is slower than real time: {self.frames_dropped} input"
                        f" frame(s) of {1e3 * self.frame_s:.0f} ms dropped so far (queue bound"
                        f" {self._frames.maxsize} frames)",
                    )
                )
            self._dropping = True
        else:
            self._dropping = False
        self._frames.put_nowait(pcm)
        if self.hub is not None:
            self.hub.notify()

    async def push_audio(self, frame: np.ndarray) -> None:
        self._last_input = self.ctx.clock.now()
        self._pending = np.concatenate([self._pending, frame.astype(np.float32, copy=False)])
        fs = self.stack.frame_size
        while len(self._pending) >= fs:
            frame = self._pending[:fs].copy()
            self._pending = self._pending[fs:]
            await self._enqueue(frame)

    async def _idle_feeder(self) -> None:
        """A client that sends nothing still has a partner that listens and may speak."""
        while True:
            await self.ctx.clock.sleep(self.frame_s)
            idle = self.ctx.clock.now() - self._last_input >= IDLE_FRAMES * self.frame_s
            if idle and self._frames.empty():
                await self._enqueue(np.zeros(self.stack.frame_size, np.float32))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.engine is not None
        while True:
            pcm = await self._frames.get()
            t0 = loop.time()
            try:
                out = await loop.run_in_executor(self._executor, self.engine.step, pcm)
            except Exception as exc:  # noqa: BLE001 - a failed frame must not end the session
                await self.frame_failed(exc)
                continue
            await self.deliver(pcm, out, loop.time() - t0)

    async def frame_failed(self, exc: Exception) -> None:
        try:
            await self.ctx.emit(ErrorEvent("model_error", f"frame failed: {exc}"))
        finally:
            self._frames.task_done()

    async def deliver(self, pcm: np.ndarray, out: FrameOut, spent: float) -> None:
        """One computed frame (own engine or the hub's batched step) -> session events."""
        try:
            self.frames_late += spent > self.frame_s
            self.frames_done += 1
            self._compute_ms.append(1e3 * spent)
            await self._emit_frame(pcm, out)
        except Exception as exc:  # noqa: BLE001 - a failed frame must not end the session
            await self.ctx.emit(ErrorEvent("model_error", f"frame failed: {exc}"))
        finally:
            self._frames.task_done()

    async def _emit_frame(self, pcm: np.ndarray, out: FrameOut) -> None:
        emit = self.ctx.emit
        change = self.user.update(pcm)
        if change == "start":
            self._user_item = _new_id("item")
            await emit(UserSpeechStarted(self.ctx.input_ms(), self._user_item))
        elif change == "end":
            self._user_stopped_ms = self.ctx.input_ms()
            await emit(UserSpeechStopped(self._user_stopped_ms, self._user_item))

        tok = self.stack.tokenizer
        word = out.text_token >= 0 and tok.is_word(out.text_token)
        turn = self.agent.update(word)
        audio = self._out(out.audio)
        if turn == "start" and not self._muted:
            rid, item = _new_id("resp"), _new_id("item")
            self._response, self._text = (rid, item), []
            self._turn_metrics = {}
            if self._user_stopped_ms is not None and not self.user.speaking:
                gap = self.ctx.input_ms() - self._user_stopped_ms
                self._turn_metrics["user_stop_to_agent_word_ms"] = float(gap)
            self._compute_ms = self._compute_ms[-1:]
            await emit(ResponseStarted(rid, item))
            if self._preroll is not None:  # the frame before the first word: its onset
                await emit(AudioChunk(rid, item, self._preroll, self.ctx.output_rate))
        if self._response is not None:
            rid, item = self._response
            await emit(AudioChunk(rid, item, audio, self.ctx.output_rate))
            if word:
                piece = tok.piece(out.text_token)
                self._text.append(piece)
                await emit(AgentTextDelta(rid, item, piece))
        self._preroll = audio
        if turn == "end":
            self._muted = False
            if self._response is not None:
                await self._finish("completed", None)

    async def _finish(self, status: str, reason: str | None) -> None:
        assert self._response is not None
        rid, item = self._response
        self._response = None
        ms = sorted(self._compute_ms) or [0.0]
        values = self._turn_metrics | {
            "frames": float(len(ms)),
            "frame_compute_ms_p50": ms[len(ms) // 2],
            "frame_compute_ms_max": ms[-1],
            "frames_late_total": float(self.frames_late),
            "frames_dropped_total": float(self.frames_dropped),
        }
        await self.ctx.emit(Metrics(rid, values))
        text = "".join(self._text).strip()
        heard = self.ctx.heard_ms(rid) if status == "cancelled" else None
        await self.ctx.emit(ResponseDone(rid, item, status, reason, text, heard))  # type: ignore[arg-type]

    async def handle(self, command: Command) -> None:
        if isinstance(command, CancelResponse):
            if self._response is not None:
                self.ctx.flush_output(self._response[0])
                self._muted = self.agent.speaking  # drop the rest of this turn
                await self._finish("cancelled", command.reason)
        elif isinstance(command, Configure):
            if command.tools:
                await self._unsupported("function calling (tools)")
        elif isinstance(command, (UserText, CreateResponse, ToolResult)):
            what = {
                UserText: "text input",
                CreateResponse: "response.create (the model decides when it speaks)",
                ToolResult: "tool results",
            }[type(command)]
            await self._unsupported(what)
        # Commit, ClearInput, Truncate, DeleteItem: the model hears a continuous stream and
        # keeps no editable transcript, so there is nothing to change.

    async def _unsupported(self, what: str) -> None:
        await self.ctx.emit(
            ErrorEvent(
                "unsupported_by_brain", f"the end-to-end speech brain has no {what}; ignored"
            )
        )

    async def settle(self) -> None:
        await self._frames.join()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.hub is not None and self.slot is not None:
            await self.hub.detach(self.slot)
            self.slot = None
        self._executor.shutdown(wait=True)
