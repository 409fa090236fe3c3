"""The typed wire protocol: client events agree with the `openai` SDK's GA client events,
are dispatched by type, ignore unknown fields, accept beta spellings, and map every bad
field onto a specific error; server event names come from the SDK's server events."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from openai.types.realtime import (
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    RealtimeClientEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from openai.types.realtime.realtime_conversation_item_function_call_output import (
    RealtimeConversationItemFunctionCallOutput,
)
from openai.types.realtime.realtime_conversation_item_user_message import (
    Content,
    RealtimeConversationItemUserMessage,
)
from openai.types.realtime.realtime_response_create_params import RealtimeResponseCreateParams
from openai.types.realtime.realtime_session_create_request import RealtimeSessionCreateRequest
from pydantic import BaseModel

from antiphon.server import realtime_events as rt
from antiphon.server.protocol import client_events as ce
from antiphon.server.protocol.errors import ClientError
from antiphon.server.protocol.server_events import (
    SERVER_EVENT_TYPES,
    ServerEventError,
    validate,
)
from antiphon.server.realtime_config import RealtimeSessionState
from antiphon.server.realtime_in import ClientEventHandler
from antiphon.server.realtime_out import EventTranslator

# one instance of every GA client event, built with the SDK's own models
SDK_SAMPLES: list[BaseModel] = [
    SessionUpdateEvent(
        type="session.update",
        session=RealtimeSessionCreateRequest(type="realtime", instructions="Be brief."),
    ),
    InputAudioBufferAppendEvent(type="input_audio_buffer.append", audio="AAAA"),
    InputAudioBufferCommitEvent(type="input_audio_buffer.commit"),
    InputAudioBufferClearEvent(type="input_audio_buffer.clear"),
    ConversationItemCreateEvent(
        type="conversation.item.create",
        item=RealtimeConversationItemUserMessage(
            type="message", role="user", content=[Content(type="input_text", text="hello")]
        ),
    ),
    ConversationItemCreateEvent(
        type="conversation.item.create",
        item=RealtimeConversationItemFunctionCallOutput(
            type="function_call_output", call_id="call_1", output="{}"
        ),
    ),
    ConversationItemTruncateEvent(
        type="conversation.item.truncate", item_id="item_1", content_index=0, audio_end_ms=300
    ),
    ConversationItemDeleteEvent(type="conversation.item.delete", item_id="item_1"),
    ConversationItemRetrieveEvent(type="conversation.item.retrieve", item_id="item_1"),
    ResponseCreateEvent(
        type="response.create",
        response=RealtimeResponseCreateParams(
            conversation="none", output_modalities=["text"], max_output_tokens=50
        ),
    ),
    ResponseCancelEvent(type="response.cancel", response_id="resp_1"),
    OutputAudioBufferClearEvent(type="output_audio_buffer.clear"),
]


def _sdk_client_event_names() -> set[str]:
    members = get_args(get_args(RealtimeClientEvent)[0])
    return {get_args(m.model_fields["type"].annotation)[0] for m in members}


def test_every_ga_client_event_has_a_model_and_a_handler() -> None:
    assert set(ce.CLIENT_EVENTS) == _sdk_client_event_names()
    handler = ClientEventHandler(
        RealtimeSessionState(), EventTranslator(RealtimeSessionState(), 24000)
    )
    assert set(handler.dispatch) == set(ce.EVENT_MODELS)
    assert {type(s).model_fields["type"].annotation for s in SDK_SAMPLES} >= {
        m.model_fields["type"].annotation for m in ce.EVENT_MODELS
    }


@pytest.mark.parametrize("sample", SDK_SAMPLES, ids=lambda s: str(getattr(s, "type", "")))
def test_sdk_built_events_parse_to_their_model(sample: BaseModel) -> None:
    raw = sample.model_dump(mode="json", exclude_none=True)
    ev = ce.parse_client_event(raw)
    assert type(ev) is ce.CLIENT_EVENTS[raw["type"]]
    assert ev.type == raw["type"]


def test_unknown_fields_are_ignored_and_beta_spellings_accepted() -> None:
    ev = ce.parse_client_event(
        {
            "type": "response.create",
            "event_id": "evt_9",
            "some_future_field": {"x": 1},
            "response": {
                "modalities": ["text"],  # beta
                "max_response_output_tokens": 7,  # beta
                "voice": "alloy",  # accepted, not used
            },
        }
    )
    assert isinstance(ev, ce.ResponseCreate) and ev.response is not None
    assert (ev.event_id, ev.response.modality, ev.response.max_output_tokens) == (
        "evt_9",
        "text",
        7,
    )
    item = ce.parse_client_event(
        {
            "type": "conversation.item.create",
            "item": {"role": "user", "content": [{"type": "text", "text": "hi"}], "new": 1},
        }
    )
    assert isinstance(item, ce.ConversationItemCreate)
    assert isinstance(item.item, ce.UserMessage) and item.item.text == "hi"
    # a non-string event_id is dropped, not an error
    assert (
        ce.parse_client_event({"type": "input_audio_buffer.clear", "event_id": 5}).event_id is None
    )


BAD: list[tuple[dict[str, Any], str, str | None]] = [
    ({"type": "input_audio_buffer.append"}, "missing_required_parameter", "audio"),
    ({"type": "input_audio_buffer.append", "audio": None}, "missing_required_parameter", "audio"),
    ({"type": "input_audio_buffer.append", "audio": 5}, "invalid_type", "audio"),
    ({"type": "session.update", "session": "x"}, "invalid_type", "session"),
    (
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "output": "x"},
        },
        "missing_required_parameter",
        "item.call_id",
    ),
    (
        {"type": "conversation.item.create", "item": {"role": "assistant", "content": []}},
        "unsupported_item",
        "item.role",
    ),
    (
        {"type": "conversation.item.create", "item": {"role": "user", "content": []}},
        "missing_required_parameter",
        "item.content",
    ),
    (
        {
            "type": "conversation.item.create",
            "item": {"role": "user", "content": [{"type": "input_audio"}]},
        },
        "unsupported_content",
        "item.content",
    ),
    (
        {"type": "conversation.item.create", "item": {"type": "mcp_call"}},
        "unsupported_item",
        "item.type",
    ),
    ({"type": "conversation.item.create", "item": 5}, "invalid_type", "item"),
    (
        {"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": -1},
        "invalid_value",
        "audio_end_ms",
    ),
    (
        {"type": "conversation.item.truncate", "item_id": "i", "audio_end_ms": "5"},
        "invalid_type",
        "audio_end_ms",
    ),
    ({"type": "response.create", "response": "x"}, "invalid_type", "response"),
    (
        {"type": "response.create", "response": {"metadata": {"a": 1}}},
        "invalid_type",
        "response.metadata",
    ),
    (
        {"type": "response.create", "response": {"conversation": "c1"}},
        "invalid_value",
        "response.conversation",
    ),
    (
        {"type": "response.create", "response": {"max_output_tokens": 0}},
        "invalid_value",
        "response.max_output_tokens",
    ),
    (
        {
            "type": "response.create",
            "response": {
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": 5}],
                    }
                ]
            },
        },
        "invalid_type",
        "response.input[0].content[0].text",
    ),
    ({"type": "nope"}, "unknown_event", "type"),
    ({"type": 5}, "missing_required_parameter", "type"),
]


@pytest.mark.parametrize(("raw", "code", "param"), BAD)
def test_bad_fields_get_specific_errors(raw: dict[str, Any], code: str, param: str | None) -> None:
    with pytest.raises(ClientError) as info:
        ce.parse_client_event({**raw, "event_id": "evt_bad"})
    assert (info.value.code, info.value.param) == (code, param), info.value.message
    assert info.value.message and info.value.event_id == "evt_bad"


def test_bad_json_and_non_objects() -> None:
    for text, code in (("{nope", "invalid_json"), ("[1]", "invalid_event"), ("5", "invalid_event")):
        with pytest.raises(ClientError) as info:
            ce.decode_client_event(text)
        assert info.value.code == code


def test_server_event_names_come_from_the_sdk() -> None:
    assert {
        "session.created",
        "response.output_audio.delta",
        "mcp_list_tools.completed",
    } <= SERVER_EVENT_TYPES
    assert rt.event("x.antiphon.metrics", values={})["type"] == "x.antiphon.metrics"
    with pytest.raises(ServerEventError, match="response.audio_delta"):
        rt.event("response.audio_delta", delta="")  # a typo fails where it is built


def test_server_event_validation_names_the_problem() -> None:
    validate(rt.event("input_audio_buffer.cleared"))
    validate(rt.error("invalid_json", "bad"))
    with pytest.raises(ServerEventError, match="conversation.item.deleted .* item_id"):
        validate(rt.event("conversation.item.deleted"))
    with pytest.raises(ServerEventError, match="response_id"):
        validate(rt.event("output_audio_buffer.started", response_id=5))
