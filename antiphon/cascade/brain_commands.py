"""The cascade session's handling of client commands (configure, manual commits, text
turns, tool results, cancel, truncate), on the brain's public surface: its conversation,
tools, style, turn detection, manual buffer and current response."""

from __future__ import annotations

from typing import TYPE_CHECKING

from antiphon.agent.persona import with_tool_guidance
from antiphon.cascade.brain_bounds import trim_conversation
from antiphon.cascade.conversation import Message
from antiphon.cascade.responder import Responder, ResponsePlan
from antiphon.cascade.response import ResponseState
from antiphon.cascade.turn_controller import new_item_id
from antiphon.cascade.workers import Urgency
from antiphon.session.commands import (
    CancelResponse,
    ClearInput,
    Command,
    Commit,
    Configure,
    CreateResponse,
    DeleteItem,
    ToolResult,
    Truncate,
    UserText,
)
from antiphon.session.events import ErrorEvent, StyleChanged, UserTranscriptFinal

if TYPE_CHECKING:
    from antiphon.cascade.brain import CascadeBrain
    from antiphon.session.brain import BrainContext


MAX_ITEM_CHARS = 32_000  # one conversation item (text the client adds)


class ClientCommands:
    def __init__(self, brain: CascadeBrain) -> None:
        self.b = brain
        self._answer_pending = False  # a tool result waits for the current response's end

    @property
    def ctx(self) -> BrainContext:
        return self.b.ctx

    def _response_in_progress(self) -> bool:
        """A response that has not sent ResponseDone yet (its last audio may still play)."""
        r = self.b.responder
        return r is not None and r.state is ResponseState.SPEAKING

    def _truncate(self, c: Truncate) -> bool:
        """The client stopped playing an item at audio_end_ms: keep only what was heard.
        An answer still in progress is truncated when it finishes."""
        r = self.b.responder
        if r is not None and r.truncate(c.item_id, c.audio_end_ms):
            return True
        return self.b.conv.truncate(c.item_id, c.audio_end_ms)

    async def handle(self, command: Command) -> None:
        if isinstance(command, Configure):
            await self._configure(command)
        elif isinstance(command, Commit):
            await self._commit_manual()
        elif isinstance(command, ClearInput):
            self.b.manual.clear()
        elif isinstance(command, UserText):
            if len(command.text) > MAX_ITEM_CHARS:
                raise ValueError(
                    f"a conversation item of {len(command.text)} characters exceeds the limit "
                    f"of {MAX_ITEM_CHARS}; send shorter text"
                )
            self.b.conv.add(Message("user", command.text), command.item_id or new_item_id())
            await trim_conversation(self.b.conv, self.ctx.emit)
        elif isinstance(command, DeleteItem):
            self.b.conv.delete(command.item_id)
        elif isinstance(command, CreateResponse):
            if self._response_in_progress():
                await self.ctx.emit(
                    ErrorEvent(
                        "conversation_already_has_active_response",
                        "a response is in progress; cancel it first",
                    )
                )
                return
            self.b.respond(ResponsePlan(instructions=command.instructions))
        elif isinstance(command, ToolResult):
            await self._tool_result(command)
        elif isinstance(command, CancelResponse):
            if not await self.b.cancel_response(command.reason):
                await self.ctx.emit(
                    ErrorEvent(
                        "response_cancel_not_active", "there is no active response to cancel"
                    )
                )
        elif isinstance(command, Truncate) and not self._truncate(command):
            await self.ctx.emit(
                ErrorEvent(
                    "item_truncate_invalid_item_id",
                    f"no assistant audio item {command.item_id!r}",
                )
            )

    async def _configure(self, c: Configure) -> None:
        b = self.b
        prompt_before = (b.conv.instructions, tuple(b.tools.schemas()))
        if c.language is not None and c.language != b.cfg.language:
            raise ValueError(
                f"this server runs language {b.cfg.language!r}; start it with --language {c.language}"
            )
        if c.instructions is not None:
            b.conv.instructions = c.instructions
        if c.style is not None:
            b.style = c.style.clamped()
            await self.ctx.emit(StyleChanged(b.style.speed, b.style.volume, b.style.pitch))
        if c.tools is not None:
            b.tools.set_client_tools(c.tools)
        if c.tool_choice is not None:
            b.tools.tool_choice = c.tool_choice
        if c.demo_tools is not None:
            b.tools.demo_enabled = c.demo_tools
        if c.clear_turn_detection:
            b.td = None
        elif c.turn_detection is not None:
            b.td = c.turn_detection
            b.seg.threshold = c.turn_detection.threshold
            b.seg.neg_threshold = max(c.turn_detection.threshold - 0.15, 0.01)
        if (b.conv.instructions, tuple(b.tools.schemas())) != prompt_before:
            # a new system prompt or tool set: evaluate it now, not at the first turn
            # (~600 tokens with a few tools: seconds on 2 cores)
            b.track(b.workers.llm.call(self._warm_prompt, urgency=Urgency.SOON, owner=b.session_id))

    def _warm_prompt(self) -> None:
        tools = self.b.tools.schemas()
        system = self.b.conv.instructions
        if tools:
            system = with_tool_guidance(system, self.b.cfg.language)
        self.b.stack.warm_prompt(system, tools)

    async def _commit_manual(self) -> None:
        audio = self.b.manual.take()
        if not len(audio):
            raise ValueError("input audio buffer is empty; append audio before committing")
        item = new_item_id()
        text = await self.b.turn.transcribe(audio)
        await self.ctx.emit(UserTranscriptFinal(item, text, self.b.cfg.language))
        if text:
            self.b.conv.add(Message("user", text), item)

    async def _tool_result(self, c: ToolResult) -> None:
        conv = self.b.conv
        if not conv.has_pending_call(c.call_id):
            raise ValueError(f"no function call with call_id {c.call_id!r} is waiting for output")
        conv.add(Message("tool", c.output, tool_call_id=c.call_id, name=conv.call_name(c.call_id)))
        if not c.respond:
            return
        r = self.b.responder
        if r is not None and r.state is ResponseState.SPEAKING and r.task is not None:
            # the result came while the agent still speaks (a filler said before the call):
            # answer once that response is over, with every result that came meanwhile
            if not self._answer_pending:
                self._answer_pending = True
                r.task.add_done_callback(lambda _task: self._answer_after(r))
            return
        self.b.respond(ResponsePlan())

    def _answer_after(self, r: Responder) -> None:
        """The response that was speaking has ended. Interrupted or closed: the user's new
        turn gets a response with the results in its context; completed: answer now."""
        self._answer_pending = False
        if r.state is ResponseState.DONE and not self._response_in_progress():
            self.b.respond(ResponsePlan())
