"""The cascade brain's handling of client commands (configure, manual commits, text
turns, tool results, cancel, truncate). Mixed into CascadeBrain, whose state it uses."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import numpy as np

from antiphon.agent.persona import with_tool_guidance
from antiphon.cascade.conversation import Conversation, Message
from antiphon.cascade.responder import ResponsePlan
from antiphon.cascade.response import ResponseState
from antiphon.cascade.workers import StackWorkers, Urgency
from antiphon.session.commands import (
    CancelResponse,
    ClearInput,
    Command,
    Commit,
    Configure,
    CreateResponse,
    DeleteItem,
    SpeakingStyle,
    ToolResult,
    Truncate,
    TurnDetection,
    UserText,
)
from antiphon.session.events import ErrorEvent, StyleChanged, UserTranscriptFinal

if TYPE_CHECKING:
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.responder import Responder
    from antiphon.cascade.services import CascadeServices
    from antiphon.cascade.stack import SessionTools
    from antiphon.cascade.vad import VADSegmenter
    from antiphon.session.brain import BrainContext


MAX_ITEM_CHARS = 32_000  # one conversation item (text the client adds)


def new_item_id() -> str:
    return "item_" + uuid.uuid4().hex[:12]


class ClientCommands:
    ctx: BrainContext
    cfg: CascadeConfig
    stack: CascadeServices
    conv: Conversation
    tools: SessionTools
    style: SpeakingStyle
    td: TurnDetection | None
    seg: VADSegmenter
    _manual: list[np.ndarray]
    workers: StackWorkers
    session_id: str
    _responder: Responder | None

    def _agent_active(self) -> bool:  # provided by CascadeBrain
        raise NotImplementedError

    def _clear_manual(self) -> None:  # provided by CascadeBrain
        raise NotImplementedError

    def _track(self, aw: Awaitable[Any]) -> asyncio.Task[Any]:  # provided by CascadeBrain
        raise NotImplementedError

    async def _transcribe(self, audio: np.ndarray) -> str:  # provided by CascadeBrain
        raise NotImplementedError

    async def _trim_conversation(self) -> None:  # provided by CascadeBrain
        raise NotImplementedError

    def _response_in_progress(self) -> bool:
        """A response that has not sent ResponseDone yet (its last audio may still play)."""
        r = self._responder
        return r is not None and r.state is ResponseState.SPEAKING

    def _truncate(self, c: Truncate) -> bool:
        """The client stopped playing an item at audio_end_ms: keep only what was heard.
        An answer still in progress is truncated when it finishes."""
        r = self._responder
        if r is not None and r.truncate(c.item_id, c.audio_end_ms):
            return True
        return self.conv.truncate(c.item_id, c.audio_end_ms)

    def _respond(
        self,
        plan: ResponsePlan,
        t_ref: float | None = None,
        metrics: dict[str, float] | None = None,
    ) -> None: ...  # provided by CascadeBrain

    async def handle(self, command: Command) -> None:
        if isinstance(command, Configure):
            await self._configure(command)
        elif isinstance(command, Commit):
            await self._commit_manual()
        elif isinstance(command, ClearInput):
            self._clear_manual()
        elif isinstance(command, UserText):
            if len(command.text) > MAX_ITEM_CHARS:
                raise ValueError(
                    f"a conversation item of {len(command.text)} characters exceeds the limit "
                    f"of {MAX_ITEM_CHARS}; send shorter text"
                )
            self.conv.add(Message("user", command.text), command.item_id or new_item_id())
            await self._trim_conversation()
        elif isinstance(command, DeleteItem):
            self.conv.delete(command.item_id)
        elif isinstance(command, CreateResponse):
            if self._response_in_progress():
                await self.ctx.emit(
                    ErrorEvent(
                        "conversation_already_has_active_response",
                        "a response is in progress; cancel it first",
                    )
                )
                return
            self._respond(ResponsePlan(instructions=command.instructions))
        elif isinstance(command, ToolResult):
            await self._tool_result(command)
        elif isinstance(command, CancelResponse):
            if self._responder is None or not self._agent_active():
                await self.ctx.emit(
                    ErrorEvent(
                        "response_cancel_not_active", "there is no active response to cancel"
                    )
                )
                return
            await self._responder.cancel(command.reason)
            self._responder = None
        elif isinstance(command, Truncate) and not self._truncate(command):
            await self.ctx.emit(
                ErrorEvent(
                    "item_truncate_invalid_item_id",
                    f"no assistant audio item {command.item_id!r}",
                )
            )

    async def _configure(self, c: Configure) -> None:
        prompt_before = (self.conv.instructions, tuple(self.tools.schemas()))
        if c.language is not None and c.language != self.cfg.language:
            raise ValueError(
                f"this server runs language {self.cfg.language!r}; start it with --language {c.language}"
            )
        if c.instructions is not None:
            self.conv.instructions = c.instructions
        if c.style is not None:
            self.style = c.style.clamped()
            await self.ctx.emit(StyleChanged(self.style.speed, self.style.volume, self.style.pitch))
        if c.tools is not None:
            self.tools.set_client_tools(c.tools)
        if c.tool_choice is not None:
            self.tools.tool_choice = c.tool_choice
        if c.demo_tools is not None:
            self.tools.demo_enabled = c.demo_tools
        if c.clear_turn_detection:
            self.td = None
        elif c.turn_detection is not None:
            self.td = c.turn_detection
            self.seg.threshold = c.turn_detection.threshold
            self.seg.neg_threshold = max(c.turn_detection.threshold - 0.15, 0.01)
        if (self.conv.instructions, tuple(self.tools.schemas())) != prompt_before:
            # a new system prompt or tool set: evaluate it now, not at the first turn
            # (~600 tokens with a few tools: seconds on 2 cores)
            self._track(
                self.workers.llm.call(
                    self._warm_prompt, urgency=Urgency.SOON, owner=self.session_id
                )
            )

    def _warm_prompt(self) -> None:
        tools = self.tools.schemas()
        system = self.conv.instructions
        if tools:
            system = with_tool_guidance(system, self.cfg.language)
        self.stack.warm_prompt(system, tools)

    async def _commit_manual(self) -> None:
        audio = np.concatenate(self._manual) if self._manual else np.zeros(0, np.float32)
        self._clear_manual()
        if not len(audio):
            raise ValueError("input audio buffer is empty; append audio before committing")
        item = new_item_id()
        text = await self._transcribe(audio)
        await self.ctx.emit(UserTranscriptFinal(item, text, self.cfg.language))
        if text:
            self.conv.add(Message("user", text), item)

    async def _tool_result(self, c: ToolResult) -> None:
        if not self.conv.has_pending_call(c.call_id):
            raise ValueError(f"no function call with call_id {c.call_id!r} is waiting for output")
        self.conv.add(
            Message("tool", c.output, tool_call_id=c.call_id, name=self.conv.call_name(c.call_id))
        )
        if c.respond and not self._response_in_progress():
            self._respond(ResponsePlan())
