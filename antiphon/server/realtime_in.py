"""Realtime client events → session commands and immediate replies.

Events arrive typed (protocol.client_events) and are dispatched by their model class; the
checks left here need the session's state (does the item exist, is a response active).
Every bad event raises ClientError with a specific code and the offending param; the
connection answers it with an `error` event and the session lives on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from antiphon.audio.io import AudioFormatError
from antiphon.server import realtime_events as rt
from antiphon.server.audio_formats import b64decode_strict, decode_audio
from antiphon.server.protocol import client_events as ce
from antiphon.server.protocol.errors import ClientError
from antiphon.server.realtime_config import RealtimeSessionState
from antiphon.server.realtime_items import ResponseRequest
from antiphon.server.realtime_out import EventTranslator
from antiphon.session.commands import (
    AppendAudio,
    CancelResponse,
    ClearInput,
    Command,
    Commit,
    CreateResponse,
    DeleteItem,
    ToolResult,
    Truncate,
    UserText,
)

Out = dict[str, Any]
MIN_COMMIT_MS = 100

__all__ = ["ClientError", "ClientEventHandler", "Handled"]


@dataclass
class Handled:
    commands: list[Command] = field(default_factory=list)
    replies: list[Out] = field(default_factory=list)
    drop_audio: bool = False  # discard agent audio not yet sent


class ClientEventHandler:
    def __init__(self, state: RealtimeSessionState, out: EventTranslator) -> None:
        self.state, self.out = state, out
        self.buffered_ms = 0.0  # uncommitted input audio (manual turn detection)
        # one handler per event model: dispatch is by the event's type, not its name
        self.dispatch: dict[type[ce.ClientEvent], Callable[[Any], Handled]] = {
            ce.SessionUpdate: self._session_update,
            ce.InputAudioBufferAppend: self._input_audio_buffer_append,
            ce.InputAudioBufferCommit: self._input_audio_buffer_commit,
            ce.InputAudioBufferClear: self._input_audio_buffer_clear,
            ce.ConversationItemCreate: self._conversation_item_create,
            ce.ConversationItemTruncate: self._conversation_item_truncate,
            ce.ConversationItemDelete: self._conversation_item_delete,
            ce.ConversationItemRetrieve: self._conversation_item_retrieve,
            ce.ResponseCreate: self._response_create,
            ce.ResponseCancel: self._response_cancel,
            ce.OutputAudioBufferClear: self._output_audio_buffer_clear,
        }

    def handle(self, ev: ce.ClientEvent | dict[str, Any]) -> Handled:
        typed = ce.parse_client_event(ev) if isinstance(ev, dict) else ev
        try:
            return self.dispatch[type(typed)](typed)
        except ClientError as exc:
            exc.event_id = typed.event_id
            raise

    # ---- session -------------------------------------------------------------------------
    def _session_update(self, ev: ce.SessionUpdate) -> Handled:
        configure = self.state.update(ev.session)  # validated when the event was parsed
        if ev.session.x_antiphon.events is not None:
            self.out.extras = ev.session.x_antiphon.events
        return Handled([configure], [rt.event("session.updated", session=self.state.as_json())])

    # ---- input audio --------------------------------------------------------------------
    def _input_audio_buffer_append(self, ev: ce.InputAudioBufferAppend) -> Handled:
        try:
            audio = decode_audio(self.state.input_format, b64decode_strict(ev.audio))
        except AudioFormatError as exc:
            code = "invalid_base64" if "base64" in str(exc) else "invalid_audio"
            raise ClientError(
                code,
                f"{exc} (input format {self.state.input_format.type} at {self.state.input_format.rate} Hz)",
                "audio",
            ) from exc
        if not len(audio):
            return Handled()
        self.buffered_ms += len(audio) * 1000 / self.state.input_format.rate
        return Handled([AppendAudio(audio, self.state.input_format.rate)])

    def _input_audio_buffer_commit(self, ev: ce.InputAudioBufferCommit) -> Handled:
        if self.state.turn_detection is not None:
            raise ClientError(
                "input_audio_buffer_commit_empty",
                "server turn detection commits turns itself; set turn_detection to null to commit manually",
            )
        if self.buffered_ms < MIN_COMMIT_MS:
            raise ClientError(
                "input_audio_buffer_commit_empty",
                f"buffer too small: {self.buffered_ms:.0f} ms; commit needs at least {MIN_COMMIT_MS} ms of audio",
            )
        self.buffered_ms = 0.0
        return Handled([Commit()])

    def _input_audio_buffer_clear(self, ev: ce.InputAudioBufferClear) -> Handled:
        self.buffered_ms = 0.0
        return Handled([ClearInput()], [rt.event("input_audio_buffer.cleared")])

    # ---- conversation items ------------------------------------------------------------------
    def _conversation_item_create(self, ev: ce.ConversationItemCreate) -> Handled:
        item = ev.item
        if isinstance(item, ce.UnsupportedItem):  # never built: its validator refuses it
            raise AssertionError(item)
        item_id = item.id or "item_" + uuid.uuid4().hex[:12]
        command: Command
        if isinstance(item, ce.FunctionCallOutput):
            if item.call_id not in self.out.pending_calls:
                raise ClientError(
                    "invalid_call_id",
                    f"no function call with call_id {item.call_id!r} is waiting for output",
                    "item.call_id",
                )
            del self.out.pending_calls[item.call_id]
            stored = rt.function_output_item(item_id, item.call_id, item.output)
            command = ToolResult(item.call_id, item.output, respond=False)
        else:
            stored = rt.user_text_item(item_id, item.text)
            command = UserText(item.text, item_id)
        prev = self.out.items.put(stored)
        return Handled(
            [command],
            [
                rt.event("conversation.item.added", previous_item_id=prev, item=stored),
                rt.event("conversation.item.done", previous_item_id=prev, item=stored),
            ],
        )

    def _item(self, item_id: str, code: str) -> Out:
        item = self.out.items.items.get(item_id)
        if item is None:
            raise ClientError(code, f"no item with id {item_id!r}", "item_id")
        return item

    def _conversation_item_truncate(self, ev: ce.ConversationItemTruncate) -> Handled:
        item = self._item(ev.item_id, "item_truncate_invalid_item_id")
        if item.get("role") != "assistant":
            raise ClientError(
                "item_truncate_invalid_item_id",
                f"item {ev.item_id!r} is not an assistant message",
                "item_id",
            )
        # the brain keeps only the words heard before `audio_end_ms` (now, or when a reply
        # still in progress finishes)
        reply = rt.event(
            "conversation.item.truncated",
            item_id=ev.item_id,
            content_index=ev.content_index,
            audio_end_ms=ev.audio_end_ms,
        )
        return Handled([Truncate(ev.item_id, ev.audio_end_ms)], [reply])

    def _conversation_item_delete(self, ev: ce.ConversationItemDelete) -> Handled:
        self._item(ev.item_id, "item_delete_invalid_item_id")
        del self.out.items.items[ev.item_id]
        return Handled(
            [DeleteItem(ev.item_id)], [rt.event("conversation.item.deleted", item_id=ev.item_id)]
        )

    def _conversation_item_retrieve(self, ev: ce.ConversationItemRetrieve) -> Handled:
        item = self._item(ev.item_id, "item_retrieve_invalid_item_id")
        return Handled([], [rt.event("conversation.item.retrieved", item=item)])

    # ---- responses --------------------------------------------------------------------------
    def _response_create(self, ev: ce.ResponseCreate) -> Handled:
        resp = ev.response or ce.ResponseParams.model_validate({})
        if self.out.active is not None:
            raise ClientError(
                "conversation_already_has_active_response",
                f"response {self.out.active} is in progress; cancel it first",
                "type",
            )
        out_of_band = resp.conversation == "none"
        commands, temp = self._response_input(resp.input, out_of_band)
        metadata = {k: str(v) for k, v in resp.metadata.items()} if resp.metadata else None
        request = ResponseRequest(
            metadata, resp.modality, resp.max_output_tokens, out_of_band, temp
        )
        self.out.requests.append(request)
        return Handled([*commands, CreateResponse(instructions=resp.instructions or None)])

    def _response_input(
        self,
        items: list[ce.UserMessage | ce.ItemReference | ce.UnsupportedItem] | None,
        out_of_band: bool,
    ) -> tuple[list[Command], tuple[str, ...]]:
        """`response.input`: user text messages become context for this response only (and
        are forgotten after it); item references must name items of the conversation."""
        if items is None:
            return [], ()
        if not out_of_band:
            raise ClientError(
                "unsupported_value",
                "response.input is supported with conversation 'none' (an out-of-band response)",
                "response.input",
            )
        commands: list[Command] = []
        temp: list[str] = []
        for i, item in enumerate(items):
            if isinstance(item, ce.ItemReference):
                if item.id not in self.out.items.items:
                    raise ClientError(
                        "invalid_value", f"no item with id {item.id!r}", f"response.input[{i}].id"
                    )
                continue
            if isinstance(item, ce.UnsupportedItem):
                raise AssertionError(item)
            item_id = "item_" + uuid.uuid4().hex[:12]
            commands.append(UserText(item.text, item_id))
            temp.append(item_id)
        return commands, tuple(temp)

    def _response_cancel(self, ev: ce.ResponseCancel) -> Handled:
        if self.out.active is None:
            raise ClientError("response_cancel_not_active", "there is no active response to cancel")
        return Handled([CancelResponse("client_cancelled")], drop_audio=True)

    def _output_audio_buffer_clear(self, ev: ce.OutputAudioBufferClear) -> Handled:
        active = self.out.active
        commands: list[Command] = [CancelResponse("client_cancelled")] if active else []
        return Handled(
            commands,
            [rt.event("output_audio_buffer.cleared", response_id=active or "")],
            drop_audio=True,
        )
