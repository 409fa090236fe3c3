"""Builders for Realtime server events (GA shapes) and the beta names of the same events.

Every event gets a fresh event_id and a name checked against the `openai` SDK's server
events (protocol.server_events); shapes follow the GA reference closely enough that the
SDK's pydantic models validate them (ServerConfig.validate_events checks every event sent,
and the tests turn it on)."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

from antiphon.server.protocol.server_events import check_name

_counter = itertools.count(1)
_PREFIX = uuid.uuid4().hex[:8]

# beta (OpenAI-Beta: realtime=v1) names of GA server events
BETA_NAMES = {
    "conversation.item.added": "conversation.item.created",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
}


def event_id() -> str:
    return f"event_{_PREFIX}{next(_counter):08d}"


def event(kind: str, **fields: Any) -> dict[str, Any]:
    check_name(kind)
    return {"type": kind, "event_id": event_id(), **fields}


def encode(ev: dict[str, Any], beta: bool = False) -> str:
    if beta:
        name = BETA_NAMES.get(ev["type"])
        if name is not None:
            ev = {**ev, "type": name}
        if ev["type"] == "conversation.item.done":
            return ""  # beta clients have no such event
    return json.dumps(ev, separators=(",", ":"), ensure_ascii=False)


def error(
    code: str,
    message: str,
    *,
    param: str | None = None,
    client_event_id: str | None = None,
    kind: str = "invalid_request_error",
) -> dict[str, Any]:
    return event(
        "error",
        error={
            "type": kind,
            "code": code,
            "message": message,
            "param": param,
            "event_id": client_event_id,
        },
    )


# ---- items -----------------------------------------------------------------------------------
def user_audio_item(
    item_id: str, transcript: str | None, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": status,
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def user_text_item(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_text", "text": text}],
    }


def assistant_item(
    item_id: str, status: str, transcript: str | None, modality: str
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if transcript is not None:
        part = (
            {"type": "output_audio", "transcript": transcript}
            if modality == "audio"
            else {"type": "output_text", "text": transcript}
        )
        content.append(part)
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def function_output_item(item_id: str, call_id: str, output: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call_output",
        "status": "completed",
        "call_id": call_id,
        "output": output,
    }


def content_part(modality: str, transcript: str) -> dict[str, Any]:
    return (
        {"type": "audio", "transcript": transcript}
        if modality == "audio"
        else {"type": "text", "text": transcript}
    )


def response_object(
    response_id: str,
    status: str,
    *,
    output: list[dict[str, Any]],
    modality: str,
    voice: str,
    output_format: dict[str, Any],
    metadata: dict[str, str] | None,
    status_details: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    conversation_id: str | None = "conv_default",
    max_output_tokens: int | str = "inf",
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": status_details,
        "output": output,
        "conversation_id": conversation_id,
        "output_modalities": [modality],
        "max_output_tokens": max_output_tokens,
        "audio": {"output": {"format": output_format, "voice": voice}},
        "usage": usage,
        "metadata": metadata,
    }
    if extra:
        obj["x_antiphon"] = extra
    return obj


def usage(
    input_text: str, output_text: str, input_audio_s: float, output_audio_s: float
) -> dict[str, Any]:
    """Token counts are estimates (words for text, 10 tokens/s for audio): the cascade has
    no audio tokens, but clients expect the usage block."""
    in_text, out_text = len(input_text.split()), len(output_text.split())
    in_audio, out_audio = int(input_audio_s * 10), int(output_audio_s * 10)
    return {
        "total_tokens": in_text + out_text + in_audio + out_audio,
        "input_tokens": in_text + in_audio,
        "output_tokens": out_text + out_audio,
        "input_token_details": {
            "text_tokens": in_text,
            "audio_tokens": in_audio,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
    }
