"""The Realtime session as the client sees it, and the Configure command a typed
`session.update` (protocol.session_config: GA or beta shape) becomes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from antiphon.server.audio_formats import PCM24K, WireFormat
from antiphon.server.mcp_tools import McpServer
from antiphon.server.protocol.errors import from_validation
from antiphon.server.protocol.session_config import (
    EAGERNESS_MAX_SILENCE_MS,
    UNION_TAGS,
    FunctionTool,
    McpTool,
    SessionConfig,
    TurnDetectionConfig,
    tool_choice,
)
from antiphon.session.commands import Configure, SpeakingStyle, TurnDetection


class _Update(BaseModel):
    session: SessionConfig  # so an error's location starts with "session"


def parse_session(raw: object) -> SessionConfig:
    """A session object (a dict from JSON) -> SessionConfig, or the ClientError of its first
    problem with the field's dotted param (`session.audio.output.speed`)."""
    try:
        return _Update.model_validate({"session": raw}).session
    except ValidationError as exc:
        raise from_validation("session.update", exc, UNION_TAGS) from exc


def _eagerness(td: TurnDetection) -> str:
    for name, ms in EAGERNESS_MAX_SILENCE_MS.items():
        if td.max_silence_ms == ms:
            return name
    return "auto"


def _td_json(td: TurnDetection | None, idle_timeout_ms: int | None = None) -> dict[str, Any] | None:
    if td is None:
        return None
    out: dict[str, Any] = {
        "type": td.kind,
        "create_response": td.create_response,
        "interrupt_response": td.interrupt_response,
    }
    if td.kind == "server_vad":
        out |= {
            "threshold": td.threshold,
            "prefix_padding_ms": td.prefix_padding_ms,
            "silence_duration_ms": td.silence_duration_ms,
            "idle_timeout_ms": idle_timeout_ms,
        }
    else:
        out["eagerness"] = _eagerness(td)
    return out


@dataclass
class RealtimeSessionState:
    """The session as the client sees it, kept in GA shape."""

    model: str = "antiphon-cascade"
    instructions: str = ""
    voice: str = "joe"
    speed: float = 1.0
    volume: float = 1.0
    pitch: float = 0.0
    output_modalities: list[str] = field(default_factory=lambda: ["audio"])
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    demo_tools: bool = False  # the extension x_antiphon.demo_tools, as the client asked
    turn_detection: TurnDetection | None = field(
        default_factory=lambda: TurnDetection(kind="server_vad")
    )
    transcription: dict[str, Any] | None = None
    idle_timeout_ms: int | None = None
    mcp_servers: list[McpServer] = field(default_factory=list)
    max_output_tokens: int | None = None  # None: "inf"
    noise_reduction: str | None = None  # "near_field" | "far_field" (antiphon/audio/denoise.py)
    input_format: WireFormat = PCM24K
    output_format: WireFormat = PCM24K
    id: str = field(default_factory=lambda: "sess_" + uuid.uuid4().hex[:16])

    def as_json(self) -> dict[str, Any]:
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.id,
            "model": self.model,
            "output_modalities": list(self.output_modalities),
            "instructions": self.instructions,
            "tools": self.tools + [m.as_json() for m in self.mcp_servers],
            "tool_choice": self.tool_choice,
            "max_output_tokens": self.max_output_tokens or "inf",
            "tracing": None,
            "truncation": "auto",
            "prompt": None,
            "audio": {
                "input": {
                    "format": self.input_format.as_json(),
                    "transcription": self.transcription,
                    "noise_reduction": (
                        {"type": self.noise_reduction} if self.noise_reduction else None
                    ),
                    "turn_detection": _td_json(self.turn_detection, self.idle_timeout_ms),
                },
                "output": {
                    "format": self.output_format.as_json(),
                    "voice": self.voice,
                    "speed": self.speed,
                },
            },
            "x_antiphon": {
                "style": {"speed": self.speed, "volume": self.volume, "pitch": self.pitch},
                "demo_tools": self.demo_tools,
            },
        }

    def update(self, s: SessionConfig | dict[str, Any]) -> Configure:
        """Apply a session.update payload (typed; a dict is parsed first, raising ClientError);
        return the command for the brain. Everything is validated before anything changes,
        so a bad update changes nothing."""
        if not isinstance(s, SessionConfig):
            s = parse_session(s)
        cfg: dict[str, Any] = {}
        a_in, a_out, x = s.audio.input, s.audio.output, s.x_antiphon
        if s.instructions is not None:
            self.instructions = cfg["instructions"] = s.instructions
        sent, voice = s.given(a_out, "voice", "voice")
        if sent and voice is not None:
            self.voice = voice
        if s.output_modalities is not None:
            self.output_modalities = ["audio"] if "audio" in s.output_modalities else ["text"]
        style_changed = False
        sent, speed = s.given(a_out, "speed", "speed")
        if sent and speed is not None:
            self.speed, style_changed = speed, True
        for key in ("speed", "volume", "pitch"):
            if getattr(x.style, key) is not None:
                setattr(self, key, getattr(x.style, key))
                style_changed = True
        if style_changed:
            cfg["style"] = SpeakingStyle(self.speed, self.volume, self.pitch).clamped()
        if "max_output_tokens" in s.model_fields_set:
            self.max_output_tokens = s.max_output_tokens
        if s.tools is not None:
            functions = [t for t in s.tools if isinstance(t, FunctionTool)]
            cfg["tools"] = tuple(t.tool() for t in functions)
            self.mcp_servers = [t.server() for t in s.tools if isinstance(t, McpTool)]
            self.tools = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                }
                for t in cfg["tools"]
            ]
        if "tool_choice" in s.model_fields_set:
            cfg["tool_choice"] = tool_choice(s.tool_choice)
            self.tool_choice = s.tool_choice
        if x.demo_tools is not None:
            self.demo_tools = cfg["demo_tools"] = x.demo_tools
        sent, td = s.given(a_in, "turn_detection", "turn_detection")
        if sent:
            assert td is None or isinstance(td, TurnDetectionConfig)
            self.turn_detection = td.command() if td is not None else None
            self.idle_timeout_ms = (
                int(td.idle_timeout_ms) if td is not None and td.idle_timeout_ms else None
            )
            if self.turn_detection is None:
                cfg["clear_turn_detection"] = True
            else:
                cfg["turn_detection"] = self.turn_detection
        sent, nr = s.given(a_in, "noise_reduction", "input_audio_noise_reduction")
        if sent:
            self.noise_reduction = nr.type if nr is not None else None
        sent, tr = s.given(a_in, "transcription", "input_audio_transcription")
        if sent:
            self.transcription = tr.model_dump(exclude_none=True) if tr is not None else None
            if tr is not None and tr.language:
                cfg["language"] = tr.language.split("-")[0]
        for side, ga_fmt, beta_fmt in (
            ("input", a_in.format, s.input_audio_format),
            ("output", a_out.format, s.output_audio_format),
        ):
            fmt = ga_fmt if ga_fmt is not None else beta_fmt
            if fmt is not None:
                setattr(self, f"{side}_format", fmt)
        return Configure(**cfg)
