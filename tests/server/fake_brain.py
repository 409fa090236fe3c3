"""A small, instant brain implementing the Brain protocol, for protocol tests that are about
the wire, not the models: energy VAD, a fixed transcript, a beep as the answer, and a
client tool call when the session declared one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import numpy as np

from antiphon.server.config import ServerConfig
from antiphon.server.context import ServerContext
from antiphon.session.brain import BrainContext
from antiphon.session.commands import (
    CancelResponse,
    Command,
    Commit,
    Configure,
    CreateResponse,
    Tool,
    ToolResult,
    UserText,
)
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    ResponseDone,
    ResponseStarted,
    ToolCall,
    UserSpeechStarted,
    UserSpeechStopped,
    UserTranscriptFinal,
)
from antiphon.session.session import Session

TRANSCRIPT = "what is the weather in Paris"


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class FakeBrain:
    input_rate = 16000

    def __init__(self, reply_s: float = 0.6) -> None:
        self.reply_s = reply_s
        self.tools: tuple[Tool, ...] = ()
        self.in_speech = False
        self.speech_ms = 0.0
        self.silence_ms = 0.0
        self.item: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.rid: str | None = None
        self.tool_outputs: list[str] = []
        self.manual = False
        self.manual_ms = 0.0

    async def start(self, ctx: BrainContext) -> None:
        self.ctx = ctx

    async def push_audio(self, frame: np.ndarray) -> None:
        if self.manual:
            self.manual_ms += len(frame) / 16
            return
        ms = len(frame) / 16
        loud = float(np.sqrt(np.mean(frame**2))) > 0.02
        if loud:
            self.silence_ms = 0.0
            self.speech_ms += ms
            if not self.in_speech and self.speech_ms >= 60:
                self.in_speech = True
                if self.rid is not None:
                    await self._stop("cancelled", "turn_detected")
                self.item = _id("item")
                await self.ctx.emit(UserSpeechStarted(self.ctx.input_ms(), self.item))
        else:
            self.speech_ms = 0.0
            self.silence_ms += ms
            if self.in_speech and self.silence_ms >= 300:
                self.in_speech = False
                item, self.item = self.item or _id("item"), None
                await self.ctx.emit(UserSpeechStopped(self.ctx.input_ms(), item))
                await self.ctx.emit(UserTranscriptFinal(item, TRANSCRIPT))
                self._respond(TRANSCRIPT)

    def _respond(self, heard: str) -> None:
        self.rid = _id("resp")
        self.task = asyncio.create_task(self._speak(self.rid, heard))

    async def _speak(self, rid: str, heard: str) -> None:
        item = _id("item")
        await self.ctx.emit(ResponseStarted(rid, item))
        if self.tools and "weather" in heard and not self.tool_outputs:
            args = json.dumps({"city": "Paris"})
            await self.ctx.emit(ToolCall(rid, item, _id("call"), self.tools[0].name, args))
            await self._finish(rid, item, "completed", None, "")
            return
        text = (
            f"It is {self.tool_outputs[-1]}." if self.tool_outputs else "Hello from the fake brain."
        )
        await self.ctx.emit(AgentTextDelta(rid, item, text))
        rate = self.ctx.output_rate
        t = np.arange(int(self.reply_s * rate)) / rate
        await self.ctx.emit(
            AudioChunk(rid, item, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
        )
        await self.ctx.clock.sleep(0.05)
        while self.ctx.is_playing():
            await self.ctx.clock.sleep(0.02)
        await self._finish(rid, item, "completed", None, text)

    async def _finish(
        self, rid: str, item: str, status: str, reason: str | None, text: str
    ) -> None:
        if self.rid == rid:
            self.rid = None
            await self.ctx.emit(ResponseDone(rid, item, status, reason, text))  # type: ignore[arg-type]

    async def _stop(self, status: str, reason: str) -> None:
        rid, task = self.rid, self.task
        self.rid = None
        self.ctx.flush_output(rid)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if rid is not None:
            await self.ctx.emit(
                ResponseDone(rid, "item_x", status, reason, "", self.ctx.heard_ms(rid))
            )  # type: ignore[arg-type]

    async def handle(self, command: Command) -> None:
        if isinstance(command, Configure):
            if command.tools is not None:
                self.tools = command.tools
            if command.clear_turn_detection:
                self.manual = True
            elif command.turn_detection is not None:
                self.manual = False
        elif isinstance(command, Commit):
            item = _id("item")
            self.manual_ms = 0.0
            await self.ctx.emit(UserTranscriptFinal(item, TRANSCRIPT))
        elif isinstance(command, ToolResult):
            self.tool_outputs.append(command.output)
            if command.respond and self.rid is None:  # a server-side (MCP) tool's result
                self._respond("")
        elif isinstance(command, UserText):
            pass
        elif isinstance(command, CreateResponse):
            if self.rid is not None:
                await self.ctx.emit(ErrorEvent("conversation_already_has_active_response", "busy"))
                return
            self._respond("")
        elif isinstance(command, CancelResponse):
            if self.rid is None:
                await self.ctx.emit(ErrorEvent("response_cancel_not_active", "nothing to cancel"))
                return
            await self._stop("cancelled", command.reason)

    async def settle(self) -> None:
        pass

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


def fake_context(**config: object) -> ServerContext:
    cfg = ServerConfig(**{"validate_events": True, **config})  # type: ignore[arg-type]
    return ServerContext(
        cfg, lambda: Session(FakeBrain(), lead_ms=cfg.lead_ms, echo_cancel=False), model_name="fake"
    )
