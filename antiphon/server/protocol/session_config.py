"""The session object of `session.update` (and of a WebRTC call's `session` part) as typed
models: the GA shape (`audio.input` / `audio.output`), the beta's top-level spellings as
aliases (`modalities`, `voice`, `input_audio_format`, `turn_detection`, ...), antiphon's
`x_antiphon` extension. Unknown fields are ignored; values are checked strictly and a bad
one raises with the Realtime error code it becomes (protocol.errors maps the rest), so the
error names the field as a dotted path (`session.audio.input.turn_detection.eagerness`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)

from antiphon.server.audio_formats import WireFormat, parse_format
from antiphon.server.mcp_tools import McpServer
from antiphon.server.protocol.errors import fail
from antiphon.session.commands import ForcedTool, Tool, ToolChoice, TurnDetection

# semantic_vad eagerness -> the longest silence before the turn ends regardless of what
# smart-turn says (OpenAI documents low/medium/high as waiting at most 8 s / 4 s / 2 s);
# "auto" keeps antiphon's tuned default (TurnDetection.max_silence_ms)
EAGERNESS_MAX_SILENCE_MS = {"low": 8000, "medium": 4000, "high": 2000}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


def max_output_tokens(value: object) -> int | None:
    """1..4096, or "inf" / null for no limit (session and response alike)."""
    if value is None or value == "inf":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail("invalid_type", 'max_output_tokens must be an integer or "inf"')
    if not 1 <= value <= 4096:
        raise fail("invalid_value", f"max_output_tokens must be between 1 and 4096; got {value}")
    return int(value)


MaxTokens = Annotated[int | None, BeforeValidator(max_output_tokens)]


# ---- audio ---------------------------------------------------------------------------------
def _format(value: object) -> WireFormat:
    try:
        return parse_format(value)
    except ValueError as exc:
        raise fail("invalid_value", str(exc)) from exc


AudioFormat = Annotated[WireFormat, BeforeValidator(_format)]


class TurnDetectionConfig(_Model):
    type: Literal["server_vad", "semantic_vad"] = "server_vad"  # declared first: checked first
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    prefix_padding_ms: float | None = Field(default=None, ge=0, le=10000)
    silence_duration_ms: float | None = Field(default=None, ge=0, le=10000)
    create_response: bool | None = None
    interrupt_response: bool | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    # server_vad: after this long without speech once the agent has finished, the server
    # commits the silence and responds (input_audio_buffer.timeout_triggered)
    idle_timeout_ms: float | None = Field(default=None, ge=5000, le=30000)

    @field_validator("eagerness")
    @classmethod
    def _semantic_only(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and info.data.get("type") != "semantic_vad":
            raise fail("invalid_value", "eagerness applies to semantic_vad only")
        return v

    @field_validator("idle_timeout_ms")
    @classmethod
    def _server_vad_only(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None and info.data.get("type") != "server_vad":
            raise fail("invalid_value", "idle_timeout_ms applies to server_vad only")
        return v

    def command(self) -> TurnDetection:
        args: dict[str, Any] = {"kind": self.type}
        if self.threshold is not None:
            args["threshold"] = self.threshold
        for key in ("prefix_padding_ms", "silence_duration_ms"):
            if getattr(self, key) is not None:
                args[key] = int(getattr(self, key))
        if "silence_duration_ms" in args:  # the hard limit follows the client's silence setting
            args["max_silence_ms"] = max(args["silence_duration_ms"] * 3, 1500)
        for key in ("create_response", "interrupt_response"):
            if getattr(self, key) is not None:
                args[key] = getattr(self, key)
        if self.eagerness in EAGERNESS_MAX_SILENCE_MS:
            args["max_silence_ms"] = EAGERNESS_MAX_SILENCE_MS[self.eagerness]
        return TurnDetection(**args)


def _noise_kind(value: object) -> object:
    return {"type": value} if isinstance(value, str) else value  # a bare name is accepted too


class NoiseReduction(_Model):
    type: Literal["near_field", "far_field"]


class Transcription(_Model):
    model: str | None = None
    language: str | None = None
    prompt: str | None = None


def _voice(value: object) -> object:
    # GA: a built-in voice's name, or a custom voice as {"id": ...}
    return value.get("id") if isinstance(value, dict) else value


Voice = Annotated[str, BeforeValidator(_voice)]
NoiseReductionField = Annotated[NoiseReduction | None, BeforeValidator(_noise_kind)]


class AudioInput(_Model):
    model_config = ConfigDict(
        extra="ignore", strict=True, frozen=True, arbitrary_types_allowed=True
    )
    format: AudioFormat | None = None
    transcription: Transcription | None = None
    noise_reduction: NoiseReductionField = None
    turn_detection: TurnDetectionConfig | None = None  # null: manual commits


class AudioOutput(_Model):
    model_config = ConfigDict(
        extra="ignore", strict=True, frozen=True, arbitrary_types_allowed=True
    )
    format: AudioFormat | None = None
    voice: Voice | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)


class Audio(_Model):
    input: AudioInput = AudioInput()
    output: AudioOutput = AudioOutput()


# ---- tools ---------------------------------------------------------------------------------
class FunctionTool(_Model):
    type: Literal["function"] = "function"
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None

    def tool(self) -> Tool:
        return Tool(
            self.name,
            self.description or "",
            self.parameters or {"type": "object", "properties": {}},
        )


def _tool_names(value: object) -> object:
    return value.get("tool_names") if isinstance(value, dict) else value  # the filter object


class McpTool(_Model):
    type: Literal["mcp"]
    server_label: str = Field(min_length=1)
    server_url: str
    connector_id: str | None = None
    require_approval: Any = "never"
    allowed_tools: Annotated[list[str] | None, BeforeValidator(_tool_names)] = None
    headers: dict[str, str] | None = None
    authorization: str | None = None
    server_description: str | None = None

    @field_validator("server_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise fail(
                "invalid_value",
                "an mcp tool needs a server_url (http:// or https://, Streamable HTTP)",
            )
        return v

    @field_validator("connector_id")
    @classmethod
    def _no_connector(cls, v: str | None) -> str | None:
        if v is not None:
            raise fail(
                "invalid_value",
                "connectors are OpenAI-hosted; give the MCP server's server_url instead",
            )
        return v

    @field_validator("require_approval")
    @classmethod
    def _never(cls, v: object) -> object:
        if v != "never":
            raise fail(
                "invalid_value",
                f"require_approval {v!r} is not supported; use 'never' (antiphon calls the MCP"
                " server's tools without asking the client)",
            )
        return v

    def server(self) -> McpServer:
        headers = dict(self.headers or {})
        if self.authorization is not None:
            headers["Authorization"] = f"Bearer {self.authorization}"
        return McpServer(
            self.server_label,
            self.server_url,
            frozenset(self.allowed_tools) if self.allowed_tools is not None else None,
            tuple(headers.items()),
            self.server_description or "",
        )


class OtherTool(_Model):
    type: object = None

    @field_validator("type")
    @classmethod
    def _refuse(cls, v: object) -> object:
        raise fail("invalid_value", f"tool type {v!r} is not supported; use function or mcp")


def _tool_tag(v: object) -> str:
    kind = v.get("type", "function") if isinstance(v, dict) else None
    return {"function": "function_tool", "mcp": "mcp_tool"}.get(kind, "other_tool")  # type: ignore[arg-type]


AnyTool = Annotated[
    Annotated[FunctionTool, Tag("function_tool")]
    | Annotated[McpTool, Tag("mcp_tool")]
    | Annotated[OtherTool, Tag("other_tool")],
    Discriminator(_tool_tag),
]


def tool_choice(value: object) -> ToolChoice:
    """``auto`` / ``none`` / ``required``, or ``{"type": "function", "name": ...}`` (GA; the
    beta's ``{"type": "function", "function": {"name": ...}}`` is accepted too)."""
    if value in ("auto", "none", "required"):
        return value  # type: ignore[return-value]
    if isinstance(value, dict) and value.get("type") == "function":
        inner = value.get("function")
        name = value.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
        if isinstance(name, str) and name:
            return ForcedTool(name)
        raise fail(
            "missing_required_parameter", "tool_choice of type function needs the function's name"
        )
    raise fail(
        "invalid_value",
        'tool_choice must be "auto", "none", "required" or {"type": "function", "name": ...}',
    )


def _check_tool_choice(value: object) -> object:
    tool_choice(value)
    return value  # kept as the client sent it: session.updated echoes it


# ---- the session ---------------------------------------------------------------------------
class Style(_Model):
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    volume: float | None = Field(default=None, ge=0.0, le=4.0)
    pitch: float | None = Field(default=None, ge=-12.0, le=12.0)


class XAntiphon(_Model):
    events: bool | None = None  # the x.antiphon.* events
    demo_tools: bool | None = None  # the server's built-in demo tools
    style: Style = Style()


class SessionConfig(_Model):
    """What one `session.update` sets; a field left out changes nothing."""

    model_config = ConfigDict(
        extra="ignore", strict=True, frozen=True, arbitrary_types_allowed=True
    )
    instructions: str | None = None
    output_modalities: list[Literal["audio", "text"]] | None = Field(
        default=None, min_length=1, validation_alias=AliasChoices("output_modalities", "modalities")
    )
    max_output_tokens: MaxTokens = Field(
        default=None,
        validation_alias=AliasChoices("max_output_tokens", "max_response_output_tokens"),
    )
    tools: list[AnyTool] | None = None
    tool_choice: Annotated[Any, BeforeValidator(_check_tool_choice)] = None
    audio: Audio = Audio()
    x_antiphon: XAntiphon = XAntiphon()
    # the beta's top-level spellings (the GA place wins when both are given)
    voice: Voice | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    input_audio_format: AudioFormat | None = None
    output_audio_format: AudioFormat | None = None
    turn_detection: TurnDetectionConfig | None = None
    input_audio_transcription: Transcription | None = None
    input_audio_noise_reduction: NoiseReductionField = None

    @field_validator("tools")
    @classmethod
    def _labels_unique(cls, v: list[Any] | None) -> list[Any] | None:
        labels = [t.server_label for t in v or [] if isinstance(t, McpTool)]
        if len(set(labels)) < len(labels):
            raise fail("invalid_value", "each mcp tool needs its own server_label")
        return v

    def given(self, ga: BaseModel, ga_name: str, beta_name: str) -> tuple[bool, Any]:
        """(was it sent, its value): the GA field inside `ga`, else the beta top-level one;
        presence matters where null means something (turn_detection: null = manual)."""
        if ga_name in ga.model_fields_set:
            return True, getattr(ga, ga_name)
        if beta_name in self.model_fields_set:
            return True, getattr(self, beta_name)
        return False, None


# the discriminated unions' tags, left out of an error's param path
UNION_TAGS = frozenset({"function_tool", "mcp_tool", "other_tool"})
