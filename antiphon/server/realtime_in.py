"""Realtime client events → session commands and immediate replies.

Every malformed event raises ClientError with a specific code and the offending param; the
connection answers it with an `error` event and the session lives on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from antiphon.audio.io import AudioFormatError
from antiphon.server import realtime_events as rt
from antiphon.server.audio_formats import b64decode_strict, decode_audio
from antiphon.server.realtime_config import (
    ConfigError,
    RealtimeSessionState,
    parse_max_output_tokens,
)
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


class ClientError(Exception):
    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


@dataclass
class Handled:
    commands: list[Command] = field(default_factory=list)
    replies: list[Out] = field(default_factory=list)
    drop_audio: bool = False  # discard agent audio not yet sent


def _require(ev: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if key not in ev or ev[key] is None:
        raise ClientError(
            "missing_required_parameter", f"{ev['type']} requires '{key}' ({what})", key
        )
    if not isinstance(ev[key], kind):
        raise ClientError("invalid_type", f"'{key}' of {ev['type']} must be {what}", key)
    return ev[key]


class ClientEventHandler:
    def __init__(self, state: RealtimeSessionState, out: EventTranslator) -> None:
        self.state, self.out = state, out
        self.buffered_ms = 0.0  # uncommitted input audio (manual turn detection)

    def handle(self, ev: dict[str, Any]) -> Handled:
        kind = ev["type"]
        method = getattr(self, "_" + kind.replace(".", "_"), None)
        if method is None:
            raise ClientError("unknown_event", f"unknown client event type {kind!r}", "type")
        result: Handled = method(ev)
        return result

    # ---- session -------------------------------------------------------------------------
    def _session_update(self, ev: dict[str, Any]) -> Handled:
        s = _require(ev, "session", dict, "an object")
        try:
            configure = self.state.update(s)
        except ConfigError as exc:
            raise ClientError("invalid_value", str(exc), exc.param) from exc
        x = s.get("x_antiphon")
        if isinstance(x, dict) and isinstance(x.get("events"), bool):
            self.out.extras = x["events"]
        return Handled([configure], [rt.event("session.updated", session=self.state.as_json())])

    # ---- input audio --------------------------------------------------------------------
    def _input_audio_buffer_append(self, ev: dict[str, Any]) -> Handled:
        _require(ev, "audio", str, "a base64 string")
        try:
            audio = decode_audio(self.state.input_format, b64decode_strict(ev["audio"]))
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

    def _input_audio_buffer_commit(self, ev: dict[str, Any]) -> Handled:
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

    def _input_audio_buffer_clear(self, ev: dict[str, Any]) -> Handled:
        self.buffered_ms = 0.0
        return Handled([ClearInput()], [rt.event("input_audio_buffer.cleared")])

    # ---- conversation items ------------------------------------------------------------------
    def _conversation_item_create(self, ev: dict[str, Any]) -> Handled:
        item = _require(ev, "item", dict, "an object")
        kind = item.get("type", "message")
        item_id = item.get("id") or "item_" + uuid.uuid4().hex[:12]
        if not isinstance(item_id, str):
            raise ClientError("invalid_type", "item.id must be a string", "item.id")
        if kind == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str):
                raise ClientError(
                    "missing_required_parameter",
                    "function_call_output requires item.call_id",
                    "item.call_id",
                )
            output = item.get("output")
            if not isinstance(output, str):
                raise ClientError(
                    "missing_required_parameter",
                    "function_call_output requires item.output (a string)",
                    "item.output",
                )
            if call_id not in self.out.pending_calls:
                raise ClientError(
                    "invalid_call_id",
                    f"no function call with call_id {call_id!r} is waiting for output",
                    "item.call_id",
                )
            del self.out.pending_calls[call_id]
            stored = rt.function_output_item(item_id, call_id, output)
            command: Command = ToolResult(call_id, output, respond=False)
        elif kind == "message":
            if item.get("role") != "user":
                raise ClientError(
                    "unsupported_item",
                    f"message items with role {item.get('role')!r} are not supported; use role user",
                    "item.role",
                )
            content = item.get("content")
            if not isinstance(content, list) or not content:
                raise ClientError(
                    "missing_required_parameter",
                    "a user message needs item.content",
                    "item.content",
                )
            texts = [
                c.get("text")
                for c in content
                if isinstance(c, dict) and c.get("type") in ("input_text", "text")
            ]
            if not texts or not all(isinstance(t, str) for t in texts):
                raise ClientError(
                    "unsupported_content",
                    "user messages support input_text content only",
                    "item.content",
                )
            text = " ".join(str(t) for t in texts)
            stored = rt.user_text_item(item_id, text)
            command = UserText(text, item_id)
        else:
            raise ClientError(
                "unsupported_item",
                f"item type {kind!r} is not supported; use message or function_call_output",
                "item.type",
            )
        prev = self.out.items.put(stored)
        return Handled(
            [command],
            [
                rt.event("conversation.item.added", previous_item_id=prev, item=stored),
                rt.event("conversation.item.done", previous_item_id=prev, item=stored),
            ],
        )

    def _item(self, ev: dict[str, Any], code: str) -> tuple[str, Out]:
        item_id = _require(ev, "item_id", str, "a string")
        item = self.out.items.items.get(item_id)
        if item is None:
            raise ClientError(code, f"no item with id {item_id!r}", "item_id")
        return item_id, item

    def _conversation_item_truncate(self, ev: dict[str, Any]) -> Handled:
        item_id, item = self._item(ev, "item_truncate_invalid_item_id")
        end = _require(ev, "audio_end_ms", int, "an integer")
        if end < 0:
            raise ClientError("invalid_value", "audio_end_ms must be >= 0", "audio_end_ms")
        if item.get("role") != "assistant":
            raise ClientError(
                "item_truncate_invalid_item_id",
                f"item {item_id!r} is not an assistant message",
                "item_id",
            )
        # the brain keeps only the words heard before `end` (now, or when a reply still
        # in progress finishes)
        commands: list[Command] = [Truncate(item_id, end)]
        reply = rt.event(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=int(ev.get("content_index") or 0),
            audio_end_ms=end,
        )
        return Handled(commands, [reply])

    def _conversation_item_delete(self, ev: dict[str, Any]) -> Handled:
        item_id, _ = self._item(ev, "item_delete_invalid_item_id")
        del self.out.items.items[item_id]
        return Handled(
            [DeleteItem(item_id)], [rt.event("conversation.item.deleted", item_id=item_id)]
        )

    def _conversation_item_retrieve(self, ev: dict[str, Any]) -> Handled:
        _, item = self._item(ev, "item_retrieve_invalid_item_id")
        return Handled([], [rt.event("conversation.item.retrieved", item=item)])

    # ---- responses --------------------------------------------------------------------------
    def _response_create(self, ev: dict[str, Any]) -> Handled:
        resp = ev.get("response") or {}
        if not isinstance(resp, dict):
            raise ClientError("invalid_type", "response must be an object", "response")
        if self.out.active is not None:
            raise ClientError(
                "conversation_already_has_active_response",
                f"response {self.out.active} is in progress; cancel it first",
                "type",
            )
        metadata = resp.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
        ):
            raise ClientError(
                "invalid_type", "response.metadata must map strings to strings", "response.metadata"
            )
        instructions = resp.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise ClientError(
                "invalid_type", "response.instructions must be a string", "response.instructions"
            )
        modalities = resp.get("output_modalities", resp.get("modalities"))
        modality = None
        if isinstance(modalities, list) and modalities:
            modality = "audio" if "audio" in modalities else "text"
        try:
            limit = parse_max_output_tokens(
                resp.get("max_output_tokens", resp.get("max_response_output_tokens")),
                "response.max_output_tokens",
            )
        except ConfigError as exc:
            raise ClientError("invalid_value", str(exc), exc.param) from exc
        conversation = resp.get("conversation", "auto")
        if conversation not in ("auto", "none"):
            raise ClientError(
                "invalid_value",
                f"response.conversation must be 'auto' or 'none'; got {conversation!r}",
                "response.conversation",
            )
        commands, temp = self._response_input(resp.get("input"), conversation == "none")
        request = ResponseRequest(metadata, modality, limit, conversation == "none", temp)
        self.out.requests.append(request)
        return Handled([*commands, CreateResponse(instructions=instructions or None)])

    def _response_input(
        self, items: object, out_of_band: bool
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
        if not isinstance(items, list):
            raise ClientError(
                "invalid_type", "response.input must be a list of items", "response.input"
            )
        commands: list[Command] = []
        temp: list[str] = []
        for i, item in enumerate(items):
            param = f"response.input[{i}]"
            kind = item.get("type", "message") if isinstance(item, dict) else None
            if kind == "item_reference":
                if item.get("id") not in self.out.items.items:
                    raise ClientError(
                        "invalid_value", f"no item with id {item.get('id')!r}", param + ".id"
                    )
                continue
            content = item.get("content") if isinstance(item, dict) else None
            texts = [
                c.get("text")
                for c in content or []
                if isinstance(c, dict) and c.get("type") in ("input_text", "text")
            ]
            if (
                kind != "message"
                or item.get("role") != "user"
                or not texts
                or not all(isinstance(t, str) for t in texts)
            ):
                raise ClientError(
                    "unsupported_item",
                    "response.input supports user messages with input_text and item_reference items",
                    param,
                )
            item_id = "item_" + uuid.uuid4().hex[:12]
            commands.append(UserText(" ".join(str(t) for t in texts), item_id))
            temp.append(item_id)
        return commands, tuple(temp)

    def _response_cancel(self, ev: dict[str, Any]) -> Handled:
        if self.out.active is None:
            raise ClientError("response_cancel_not_active", "there is no active response to cancel")
        return Handled([CancelResponse("client_cancelled")], drop_audio=True)

    def _output_audio_buffer_clear(self, ev: dict[str, Any]) -> Handled:
        active = self.out.active
        commands: list[Command] = [CancelResponse("client_cancelled")] if active else []
        return Handled(
            commands,
            [rt.event("output_audio_buffer.cleared", response_id=active or "")],
            drop_audio=True,
        )
