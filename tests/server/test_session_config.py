"""The typed session object of `session.update`: the SDK's full GA session parses, beta
spellings are aliases of the GA fields, unknown fields are ignored, every bad field gets a
specific code and its dotted param, and a refused update changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.realtime import SessionUpdateEvent
from openai.types.realtime.realtime_session_create_request import RealtimeSessionCreateRequest

from antiphon.server.protocol import client_events as ce
from antiphon.server.protocol.errors import ClientError
from antiphon.server.realtime_config import RealtimeSessionState
from antiphon.session.commands import ForcedTool

GA: dict[str, Any] = {
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "Be brief.",
    "output_modalities": ["audio"],
    "max_output_tokens": 300,
    "tracing": "auto",
    "truncation": "auto",
    "include": ["item.input_audio_transcription.logprobs"],
    "parallel_tool_calls": True,
    "prompt": {"id": "pmpt_1"},
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "noise_reduction": {"type": "near_field"},
            "transcription": {"model": "whisper-1", "language": "de-DE"},
            "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
        },
        "output": {"format": {"type": "audio/pcma"}, "voice": "marin", "speed": 1.25},
    },
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {
            "type": "mcp",
            "server_label": "docs",
            "server_url": "http://127.0.0.1:9/mcp",
            "allowed_tools": {"tool_names": ["search"]},
            "require_approval": "never",
        },
    ],
    "tool_choice": {"type": "function", "name": "get_weather"},
}
BETA: dict[str, Any] = {  # the same session in the beta's spellings
    "instructions": "Be brief.",
    "modalities": ["audio", "text"],
    "max_response_output_tokens": 300,
    "input_audio_format": "g711_ulaw",
    "output_audio_format": "g711_alaw",
    "input_audio_noise_reduction": {"type": "near_field"},
    "input_audio_transcription": {"model": "whisper-1", "language": "de-DE"},
    "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
    "voice": "marin",
    "speed": 1.25,
    "tools": GA["tools"],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
}


def _view(state: RealtimeSessionState) -> dict[str, Any]:
    out = state.as_json()
    del out["id"], out["tool_choice"]  # tool_choice is echoed as the client wrote it
    return out


def test_the_sdks_full_ga_session_parses_and_configures() -> None:
    sdk = SessionUpdateEvent(
        type="session.update", session=RealtimeSessionCreateRequest.model_validate(GA)
    )
    ev = ce.parse_client_event(sdk.model_dump(mode="json", exclude_none=True))
    assert isinstance(ev, ce.SessionUpdate)
    state = RealtimeSessionState()
    cmd = state.update(ev.session)
    assert cmd.instructions == "Be brief." and cmd.language == "de"
    assert cmd.style is not None and cmd.style.speed == 1.25
    assert cmd.tools is not None and [t.name for t in cmd.tools] == ["get_weather"]
    assert cmd.tool_choice == ForcedTool("get_weather")
    assert cmd.turn_detection is not None and cmd.turn_detection.max_silence_ms == 2000
    assert [m.label for m in state.mcp_servers] == ["docs"]
    assert state.mcp_servers[0].allowed == frozenset({"search"})
    view = _view(state)
    assert view["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert view["audio"]["output"] | {"voice": "marin", "speed": 1.25} == view["audio"]["output"]
    assert view["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    assert view["max_output_tokens"] == 300


def test_beta_spellings_are_aliases_of_the_ga_fields() -> None:
    ga, beta = RealtimeSessionState(id="s"), RealtimeSessionState(id="s")
    assert ga.update(GA) == beta.update(BETA)
    assert _view(ga) == _view(beta)


def test_the_ga_place_wins_and_presence_matters() -> None:
    state = RealtimeSessionState()
    state.update({"voice": "beta", "audio": {"output": {"voice": "ga"}}})
    assert state.voice == "ga"
    cmd = state.update({"audio": {"input": {"turn_detection": None}}})  # null: manual commits
    assert cmd.clear_turn_detection and state.turn_detection is None
    cmd = state.update({"instructions": "x"})  # turn_detection left out: unchanged
    assert not cmd.clear_turn_detection and cmd.turn_detection is None
    assert state.turn_detection is None
    state.update({"audio": {"output": {"voice": {"id": "voice_123"}}}})  # a custom voice
    assert state.voice == "voice_123"


def test_unknown_fields_are_ignored_at_every_level() -> None:
    state = RealtimeSessionState()
    state.update(
        {
            "future": 1,
            "audio": {
                "new": {},
                "input": {"turn_detection": {"type": "server_vad", "new": 2}, "new": 3},
                "output": {"new": 4},
            },
            "tools": [{"type": "function", "name": "f", "strict": True, "description": None}],
            "x_antiphon": {"new": 5, "style": {"new": 6}},
        }
    )
    assert state.turn_detection is not None and state.turn_detection.kind == "server_vad"
    assert [t["name"] for t in state.tools] == ["f"]


TD = "session.audio.input.turn_detection"
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"instructions": 5}, "invalid_type", "session.instructions"),
    ({"output_modalities": ["video"]}, "invalid_value", "session.output_modalities[0]"),
    ({"output_modalities": []}, "invalid_value", "session.output_modalities"),
    ({"max_output_tokens": 0}, "invalid_value", "session.max_output_tokens"),
    ({"max_output_tokens": "5"}, "invalid_type", "session.max_output_tokens"),
    ({"audio": {"output": {"speed": 9}}}, "invalid_value", "session.audio.output.speed"),
    ({"audio": {"output": {"speed": "1"}}}, "invalid_type", "session.audio.output.speed"),
    ({"audio": {"output": {"voice": 5}}}, "invalid_type", "session.audio.output.voice"),
    ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}, "invalid_value",
     "session.audio.input.format"),
    ({"input_audio_format": "wav"}, "invalid_value", "session.input_audio_format"),
    ({"audio": {"input": {"turn_detection": {"type": "magic"}}}}, "invalid_value", TD + ".type"),
    ({"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}}},
     "invalid_value", TD + ".eagerness"),
    ({"audio": {"input": {"turn_detection": {"eagerness": "low"}}}}, "invalid_value",
     TD + ".eagerness"),
    ({"audio": {"input": {"turn_detection": {"type": "semantic_vad", "idle_timeout_ms": 6000}}}},
     "invalid_value", TD + ".idle_timeout_ms"),
    ({"audio": {"input": {"turn_detection": {"threshold": 2}}}}, "invalid_value",
     TD + ".threshold"),
    ({"audio": {"input": {"turn_detection": {"create_response": "yes"}}}}, "invalid_type",
     TD + ".create_response"),
    ({"audio": {"input": {"noise_reduction": {"type": "x"}}}}, "invalid_value",
     "session.audio.input.noise_reduction.type"),
    ({"audio": {"input": {"transcription": {"language": 5}}}}, "invalid_type",
     "session.audio.input.transcription.language"),
    ({"tools": {}}, "invalid_type", "session.tools"),
    ({"tools": [{"type": "web_search"}]}, "invalid_value", "session.tools[0].type"),
    ({"tools": [{"type": "function"}]}, "missing_required_parameter", "session.tools[0].name"),
    ({"tools": [{"name": ""}]}, "invalid_value", "session.tools[0].name"),
    ({"tools": [{"type": "mcp", "server_label": "a", "server_url": "http://x",
                 "allowed_tools": [5]}]}, "invalid_type", "session.tools[0].allowed_tools[0]"),
    ({"tools": [{"type": "mcp", "server_label": "a", "server_url": "http://x"},
                {"type": "mcp", "server_label": "a", "server_url": "http://y"}]},
     "invalid_value", "session.tools"),
    ({"tool_choice": "sometimes"}, "invalid_value", "session.tool_choice"),
    ({"tool_choice": {"type": "function"}}, "missing_required_parameter", "session.tool_choice"),
    ({"x_antiphon": {"demo_tools": "yes"}}, "invalid_type", "session.x_antiphon.demo_tools"),
    ({"x_antiphon": {"style": {"pitch": 40}}}, "invalid_value",
     "session.x_antiphon.style.pitch"),
]  # fmt: skip


@pytest.mark.parametrize(("session", "code", "param"), BAD, ids=[b[2] for b in BAD])
def test_bad_fields_get_specific_errors_and_change_nothing(
    session: dict[str, Any], code: str, param: str
) -> None:
    with pytest.raises(ClientError) as info:
        ce.parse_client_event({"type": "session.update", "event_id": "e", "session": session})
    assert (info.value.code, info.value.param) == (code, param), info.value.message
    assert info.value.message and info.value.event_id == "e"
    state = RealtimeSessionState(instructions="before")
    before = state.as_json()
    with pytest.raises(ClientError):
        state.update({"instructions": "after", **session})
    assert state.as_json() == before
