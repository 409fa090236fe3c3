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


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class E2EBrain:
    def __init__(self, stack: E2EStack, params: SamplingParams | None = None) -> None:
        self.stack = stack
        self.input_rate = stack.sample_rate
        self.engine = FrameEngine(stack, params)
        self.agent = AgentTurns()
        self.user = UserActivity()
        self._pending = np.zeros(0, np.float32)
        self._frames: asyncio.Queue[np.ndarray] = asyncio.Queue()
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

    @property
    def frame_s(self) -> float:
        return self.stack.frame_size / self.stack.sample_rate

    async def start(self, ctx: BrainContext) -> None:
        self.ctx = ctx
        self._out = StreamResampler(self.stack.sample_rate, ctx.output_rate)
        self._last_input = ctx.clock.now()
        self._tasks = [
            asyncio.create_task(self._run(), name="e2e-frames"),
            asyncio.create_task(self._idle_feeder(), name="e2e-idle"),
        ]

    async def push_audio(self, frame: np.ndarray) -> None:
        self._last_input = self.ctx.clock.now()
        self._pending = np.concatenate([self._pending, frame.astype(np.float32, copy=False)])
        fs = self.stack.frame_size
        while len(self._pending) >= fs:
            self._frames.put_nowait(self._pending[:fs].copy())
            self._pending = self._pending[fs:]

    async def _idle_feeder(self) -> None:
        """A client that sends nothing still has a partner that listens and may speak."""
        while True:
            await self.ctx.clock.sleep(self.frame_s)
            idle = self.ctx.clock.now() - self._last_input >= IDLE_FRAMES * self.frame_s
            if idle and self._frames.empty():
                self._frames.put_nowait(np.zeros(self.stack.frame_size, np.float32))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pcm = await self._frames.get()
            try:
                t0 = loop.time()
                out = await loop.run_in_executor(self._executor, self.engine.step, pcm)
                spent = loop.time() - t0
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
        self._executor.shutdown(wait=True)
