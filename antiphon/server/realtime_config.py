"""The Realtime session object: what `session.update` may change, in GA or beta shape, and
the Configure command it becomes. Unknown fields are accepted and ignored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from antiphon.server.audio_formats import PCM24K, WireFormat, parse_format
from antiphon.server.mcp_tools import McpConfigError, McpServer, parse_mcp
from antiphon.session.commands import (
    Configure,
    ForcedTool,
    SpeakingStyle,
    Tool,
    ToolChoice,
    TurnDetection,
)


class ConfigError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


# semantic_vad eagerness -> the longest silence before the turn ends regardless of what
# smart-turn says (OpenAI documents low/medium/high as waiting at most 8 s / 4 s / 2 s);
# "auto" keeps antiphon's tuned default (TurnDetection.max_silence_ms)
EAGERNESS_MAX_SILENCE_MS = {"low": 8000, "medium": 4000, "high": 2000}


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


def _num(value: object, param: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{param} must be a number", param)
    if not lo <= float(value) <= hi:
        raise ConfigError(f"{param} must be between {lo} and {hi}; got {value}", param)
    return float(value)


def parse_turn_detection(value: object, param: str) -> TurnDetection | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{param} must be an object or null", param)
    kind = value.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise ConfigError(
            f"{param}.type must be server_vad or semantic_vad; got {kind!r}", f"{param}.type"
        )
    args: dict[str, Any] = {"kind": kind}
    if "threshold" in value and value["threshold"] is not None:
        args["threshold"] = _num(value["threshold"], f"{param}.threshold", 0.0, 1.0)
    for key in ("prefix_padding_ms", "silence_duration_ms"):
        if value.get(key) is not None:
            args[key] = int(_num(value[key], f"{param}.{key}", 0, 10000))
    if "silence_duration_ms" in args:  # the hard limit follows the client's silence setting
        args["max_silence_ms"] = max(args["silence_duration_ms"] * 3, 1500)
    for key in ("create_response", "interrupt_response"):
        if isinstance(value.get(key), bool):
            args[key] = value[key]
    eagerness = value.get("eagerness")
    if eagerness is not None:
        if kind != "semantic_vad":
            raise ConfigError(
                f"{param}.eagerness applies to semantic_vad only", f"{param}.eagerness"
            )
        if eagerness not in ("low", "medium", "high", "auto"):
            raise ConfigError(
                f"{param}.eagerness must be low, medium, high or auto; got {eagerness!r}",
                f"{param}.eagerness",
            )
        if eagerness in EAGERNESS_MAX_SILENCE_MS:
            args["max_silence_ms"] = EAGERNESS_MAX_SILENCE_MS[eagerness]
    return TurnDetection(**args)


def parse_idle_timeout(value: object, param: str) -> int | None:
    """server_vad's idle_timeout_ms: after this long without speech once the agent has
    finished, the server commits the silence and responds (input_audio_buffer.timeout_triggered)."""
    if not isinstance(value, dict) or value.get("idle_timeout_ms") is None:
        return None
    if value.get("type", "server_vad") != "server_vad":
        raise ConfigError(
            f"{param}.idle_timeout_ms applies to server_vad only", f"{param}.idle_timeout_ms"
        )
    return int(_num(value["idle_timeout_ms"], f"{param}.idle_timeout_ms", 5000, 30000))


def parse_tool_choice(value: object) -> ToolChoice:
    """``auto`` / ``none`` / ``required``, or ``{"type": "function", "name": ...}`` (GA; the
    beta's ``{"type": "function", "function": {"name": ...}}`` is accepted too)."""
    if value in ("auto", "none", "required"):
        return value  # type: ignore[return-value]
    if isinstance(value, dict) and value.get("type") == "function":
        inner = value.get("function")
        name = value.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
        if isinstance(name, str) and name:
            return ForcedTool(name)
        raise ConfigError(
            "tool_choice of type function needs the function's name", "session.tool_choice.name"
        )
    raise ConfigError(
        'tool_choice must be "auto", "none", "required" or {"type": "function", "name": ...}',
        "session.tool_choice",
    )


def parse_tools(value: object) -> tuple[Tool, ...]:
    if not isinstance(value, list):
        raise ConfigError("tools must be a list", "session.tools")
    tools = []
    for i, t in enumerate(value):
        if isinstance(t, dict) and t.get("type") == "mcp":
            continue  # parse_mcp_tools
        if not isinstance(t, dict) or t.get("type", "function") != "function":
            raise ConfigError(
                f"tools[{i}] must be a function or mcp tool", f"session.tools[{i}].type"
            )
        name = t.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"tools[{i}].name is required", f"session.tools[{i}].name")
        params = t.get("parameters") or {"type": "object", "properties": {}}
        tools.append(Tool(name, str(t.get("description", "")), params))
    return tuple(tools)


def parse_max_output_tokens(value: object, param: str) -> int | None:
    """1..4096, or "inf" / null for no limit."""
    if value is None or value == "inf":
        return None
    return int(_num(value, param, 1, 4096))


def parse_mcp_tools(value: list[Any]) -> list[McpServer]:
    servers: list[McpServer] = []
    for i, t in enumerate(value):
        if isinstance(t, dict) and t.get("type") == "mcp":
            try:
                servers.append(parse_mcp(t, f"session.tools[{i}]"))
            except McpConfigError as exc:
                raise ConfigError(str(exc), exc.param) from exc
    if len({s.label for s in servers}) < len(servers):
        raise ConfigError("each mcp tool needs its own server_label", "session.tools")
    return servers


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
                "style": {"speed": self.speed, "volume": self.volume, "pitch": self.pitch}
            },
        }

    def update(self, s: dict[str, Any]) -> Configure:
        """Apply a session.update payload (GA or beta); return the command for the brain.

        Validates everything before changing anything, so a bad update changes nothing."""
        new = RealtimeSessionState(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        cfg: dict[str, Any] = {}
        audio: dict[str, Any] = s["audio"] if isinstance(s.get("audio"), dict) else {}
        a_in: dict[str, Any] = audio["input"] if isinstance(audio.get("input"), dict) else {}
        a_out: dict[str, Any] = audio["output"] if isinstance(audio.get("output"), dict) else {}

        if "instructions" in s:
            if not isinstance(s["instructions"], str):
                raise ConfigError("instructions must be a string", "session.instructions")
            new.instructions = cfg["instructions"] = s["instructions"]
        voice = a_out.get("voice", s.get("voice"))
        if voice is not None:
            new.voice = str(voice)
        modalities = s.get("output_modalities", s.get("modalities"))
        if modalities is not None:
            if (
                not isinstance(modalities, list)
                or not set(modalities) <= {"audio", "text"}
                or not modalities
            ):
                raise ConfigError(
                    'output_modalities must be ["audio"] or ["text"]', "session.output_modalities"
                )
            new.output_modalities = ["audio"] if "audio" in modalities else ["text"]
        style_changed = False
        speed = a_out.get("speed", s.get("speed"))
        if speed is not None:
            new.speed = _num(speed, "session.audio.output.speed", 0.25, 4.0)
            style_changed = True
        x_style = (
            (s.get("x_antiphon") or {}).get("style")
            if isinstance(s.get("x_antiphon"), dict)
            else None
        )
        if isinstance(x_style, dict):
            for key, lo, hi in (("speed", 0.25, 4.0), ("volume", 0.0, 4.0), ("pitch", -12.0, 12.0)):
                if key in x_style:
                    setattr(new, key, _num(x_style[key], f"session.x_antiphon.style.{key}", lo, hi))
                    style_changed = True
        if style_changed:
            cfg["style"] = SpeakingStyle(new.speed, new.volume, new.pitch).clamped()
        if "max_output_tokens" in s:
            new.max_output_tokens = parse_max_output_tokens(
                s["max_output_tokens"], "session.max_output_tokens"
            )
        if "tools" in s:
            cfg["tools"] = parse_tools(s["tools"])
            new.mcp_servers = parse_mcp_tools(s["tools"])
            new.tools = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                }
                for t in cfg["tools"]
            ]
        if "tool_choice" in s:
            cfg["tool_choice"] = parse_tool_choice(s["tool_choice"])
            new.tool_choice = s["tool_choice"]
        x_demo = (
            s["x_antiphon"].get("demo_tools") if isinstance(s.get("x_antiphon"), dict) else None
        )
        if x_demo is not None:
            if not isinstance(x_demo, bool):
                raise ConfigError(
                    "x_antiphon.demo_tools must be true or false", "session.x_antiphon.demo_tools"
                )
            new.demo_tools = cfg["demo_tools"] = x_demo
        td_key = "turn_detection" in a_in or "turn_detection" in s
        if td_key:
            raw = a_in["turn_detection"] if "turn_detection" in a_in else s["turn_detection"]
            new.turn_detection = parse_turn_detection(raw, "session.audio.input.turn_detection")
            new.idle_timeout_ms = parse_idle_timeout(raw, "session.audio.input.turn_detection")
            if new.turn_detection is None:
                cfg["clear_turn_detection"] = True
            else:
                cfg["turn_detection"] = new.turn_detection
        nr = a_in.get("noise_reduction", s.get("input_audio_noise_reduction", ...))
        if nr is not ...:
            kind = nr.get("type") if isinstance(nr, dict) else nr
            if nr is not None and kind not in ("near_field", "far_field"):
                raise ConfigError(
                    f"noise_reduction must be null or {{'type': 'near_field' | 'far_field'}}; got {nr!r}",
                    "session.audio.input.noise_reduction",
                )
            new.noise_reduction = kind
        tr = a_in.get("transcription", s.get("input_audio_transcription", ...))
        if tr is not ...:
            if tr is not None and not isinstance(tr, dict):
                raise ConfigError(
                    "transcription must be an object or null", "session.audio.input.transcription"
                )
            new.transcription = tr
            lang = tr.get("language") if isinstance(tr, dict) else None
            if isinstance(lang, str) and lang:
                cfg["language"] = lang.split("-")[0]
        in_fmt = a_in.get("format", s.get("input_audio_format"))
        out_fmt = a_out.get("format", s.get("output_audio_format"))
        for fmt, side in ((in_fmt, "input"), (out_fmt, "output")):
            if fmt is None:
                continue
            try:
                setattr(new, f"{side}_format", parse_format(fmt))
            except ValueError as exc:
                raise ConfigError(str(exc), f"session.audio.{side}.format") from exc
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(new, name))
        return Configure(**cfg)
