"""Realtime client events as typed models: the one definition of what a client may send.

Every GA client event (the `openai` SDK's RealtimeClientEvent union; tests check the two
agree) has a model here. Beta spellings are accepted as aliases (`modalities`,
`max_response_output_tokens`, `text` content parts). Unknown fields are ignored, so newer
clients keep working. Values are checked strictly (no "5" for 5); what needs the session's
state (does this item exist? is a response active?) is checked by the handler."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)

from antiphon.server.protocol import session_config as sc
from antiphon.server.protocol.errors import ClientError, fail, from_validation


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None  # a bad event_id is not worth an error


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class ClientEvent(_Model):
    type: str
    event_id: Annotated[str | None, BeforeValidator(_str_or_none)] = None


# ---- conversation items ---------------------------------------------------------------------
class InputText(_Model):
    type: Literal["input_text", "text"]  # "text": beta
    text: str


class OtherPart(_Model):
    type: str  # input_audio, input_image, ...: not supported in user messages


def _part_tag(v: object) -> str:
    text = isinstance(v, dict) and v.get("type") in ("input_text", "text")
    return "input_text" if text else "other_part"


ContentPart = Annotated[
    Annotated[InputText, Tag("input_text")] | Annotated[OtherPart, Tag("other_part")],
    Discriminator(_part_tag),
]


class UserMessage(_Model):
    type: Literal["message"] = "message"
    id: str | None = None
    role: str
    content: list[ContentPart]

    @field_validator("role")
    @classmethod
    def _user_only(cls, v: str) -> str:
        if v != "user":
            raise fail(
                "unsupported_item", f"message items with role {v!r} are not supported; use user"
            )
        return v

    @field_validator("content")
    @classmethod
    def _has_text(cls, v: list[InputText | OtherPart]) -> list[InputText | OtherPart]:
        if not v:
            raise fail("missing_required_parameter", "a user message needs content")
        if not any(isinstance(p, InputText) for p in v):
            raise fail("unsupported_content", "user messages support input_text content only")
        return v

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.content if isinstance(p, InputText))


class FunctionCallOutput(_Model):
    type: Literal["function_call_output"]
    id: str | None = None
    call_id: str
    output: str


class ItemReference(_Model):
    type: Literal["item_reference"]
    id: str


class UnsupportedItem(_Model):
    type: str

    @field_validator("type")
    @classmethod
    def _refuse(cls, v: str) -> str:
        raise fail(
            "unsupported_item",
            f"item type {v!r} is not supported here; use message or function_call_output"
            " (response.input: message or item_reference)",
        )


def _item_tag(kinds: tuple[str, ...]) -> Any:
    def tag(v: object) -> str:
        kind = v.get("type", "message") if isinstance(v, dict) else None
        return kind if kind in kinds else "unsupported"

    return Discriminator(tag)


ConversationItem = Annotated[
    Annotated[UserMessage, Tag("message")]
    | Annotated[FunctionCallOutput, Tag("function_call_output")]
    | Annotated[UnsupportedItem, Tag("unsupported")],
    _item_tag(("message", "function_call_output")),
]
InputItem = Annotated[
    Annotated[UserMessage, Tag("message")]
    | Annotated[ItemReference, Tag("item_reference")]
    | Annotated[UnsupportedItem, Tag("unsupported")],
    _item_tag(("message", "item_reference")),
]
# the tags above, left out of an error's param path
UNION_TAGS = (
    frozenset(
        {
            "input_text",
            "other_part",
            "message",
            "function_call_output",
            "item_reference",
            "unsupported",
        }
    )
    | sc.UNION_TAGS
)


# ---- response parameters -----------------------------------------------------------------
class ResponseParams(_Model):
    metadata: dict[str, Any] | None = None
    instructions: str | None = None
    output_modalities: list[Any] | None = Field(
        None, validation_alias=AliasChoices("output_modalities", "modalities")
    )
    max_output_tokens: sc.MaxTokens = Field(
        None, validation_alias=AliasChoices("max_output_tokens", "max_response_output_tokens")
    )
    conversation: str = "auto"
    input: list[InputItem] | None = None

    @field_validator("metadata")
    @classmethod
    def _strings(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None and not all(isinstance(x, str) for x in v.values()):
            raise fail("invalid_type", "response.metadata must map strings to strings")
        return v

    @field_validator("conversation")
    @classmethod
    def _auto_or_none(cls, v: str) -> str:
        if v not in ("auto", "none"):
            raise fail(
                "invalid_value", f"response.conversation must be 'auto' or 'none'; got {v!r}"
            )
        return v

    @property
    def modality(self) -> str | None:
        m = self.output_modalities
        return ("audio" if "audio" in m else "text") if m else None


# ---- the events ----------------------------------------------------------------------------
class SessionUpdate(ClientEvent):
    type: Literal["session.update"]
    session: sc.SessionConfig  # GA and beta shapes


class InputAudioBufferAppend(ClientEvent):
    type: Literal["input_audio_buffer.append"]
    audio: str  # base64, in the session's input format


class InputAudioBufferCommit(ClientEvent):
    type: Literal["input_audio_buffer.commit"]


class InputAudioBufferClear(ClientEvent):
    type: Literal["input_audio_buffer.clear"]


class ConversationItemCreate(ClientEvent):
    type: Literal["conversation.item.create"]
    previous_item_id: str | None = None  # accepted; items are appended at the end
    item: ConversationItem


class ConversationItemTruncate(ClientEvent):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: int = 0
    audio_end_ms: int = Field(ge=0)


class ConversationItemDelete(ClientEvent):
    type: Literal["conversation.item.delete"]
    item_id: str


class ConversationItemRetrieve(ClientEvent):
    type: Literal["conversation.item.retrieve"]
    item_id: str


class ResponseCreate(ClientEvent):
    type: Literal["response.create"]
    response: ResponseParams | None = None


class ResponseCancel(ClientEvent):
    type: Literal["response.cancel"]
    response_id: str | None = None


class OutputAudioBufferClear(ClientEvent):
    type: Literal["output_audio_buffer.clear"]


EVENT_MODELS: tuple[type[ClientEvent], ...] = (
    SessionUpdate,
    InputAudioBufferAppend,
    InputAudioBufferCommit,
    InputAudioBufferClear,
    ConversationItemCreate,
    ConversationItemTruncate,
    ConversationItemDelete,
    ConversationItemRetrieve,
    ResponseCreate,
    ResponseCancel,
    OutputAudioBufferClear,
)
# event type name -> model: the dispatch table's key
CLIENT_EVENTS: dict[str, type[ClientEvent]] = {
    get_args(m.model_fields["type"].annotation)[0]: m for m in EVENT_MODELS
}


def parse_client_event(raw: object) -> ClientEvent:
    """A decoded JSON value -> its typed event, or a ClientError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ClientError("invalid_event", "a client event must be a JSON object with a 'type'")
    event_id = _str_or_none(raw.get("event_id"))
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise ClientError(
            "missing_required_parameter", "a client event needs a string 'type'", "type", event_id
        )
    model = CLIENT_EVENTS.get(kind)
    if model is None:
        raise ClientError("unknown_event", f"unknown client event type {kind!r}", "type", event_id)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = from_validation(kind, exc, UNION_TAGS)
        err.event_id = event_id
        raise err from exc


def decode_client_event(text: str) -> ClientEvent:
    """One text frame -> its typed event (invalid_json when it is not JSON at all)."""
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ClientError("invalid_json", f"message is not valid JSON: {exc}") from exc
    return parse_client_event(raw)
