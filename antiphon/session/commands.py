"""Typed commands into a Session/brain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class SpeakingStyle:
    speed: float = 1.0  # 0.5 .. 2.0, relative speaking rate
    volume: float = 1.0  # 0.1 .. 3.0, linear gain
    pitch: float = 0.0  # -6 .. +6 semitones

    def clamped(self) -> SpeakingStyle:
        return SpeakingStyle(
            speed=min(2.0, max(0.5, self.speed)),
            volume=min(3.0, max(0.1, self.volume)),
            pitch=min(6.0, max(-6.0, self.pitch)),
        )


@dataclass(frozen=True)
class TurnDetection:
    """Server-side turn detection; None in Configure means the client commits turns."""

    kind: Literal["server_vad", "semantic_vad"] = "semantic_vad"
    threshold: float = 0.5  # VAD speech probability
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500  # silence after which a turn ends when smart-turn agrees
    max_silence_ms: int = 1500  # silence after which a turn ends regardless
    create_response: bool = True
    interrupt_response: bool = True
    interrupt_min_speech_ms: int = 400  # overlap speech needed before barge-in is considered
    backchannel_max_ms: int = 1200  # a backchannel-only overlap shorter than this is ignored


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ForcedTool:
    """``tool_choice`` naming one function: the model must call exactly that tool."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | ForcedTool


@dataclass(frozen=True)
class Configure:
    instructions: str | None = None
    voice: str | None = None
    style: SpeakingStyle | None = None
    tools: tuple[Tool, ...] | None = None
    tool_choice: ToolChoice | None = None
    # the operator's built-in demo tools (time, timers, lights) for this session; None keeps
    # the session's default (off for API sessions unless the server turns them on)
    demo_tools: bool | None = None
    turn_detection: TurnDetection | None = None
    clear_turn_detection: bool = False  # set turn_detection to None (manual commits)
    language: str | None = None  # "en", "zh"


@dataclass(frozen=True)
class AppendAudio:
    audio: np.ndarray = field(repr=False)  # float32 mono (or int16, converted at the edge)
    sample_rate: int


@dataclass(frozen=True)
class Commit:
    """End the user's turn now (manual turn detection)."""


@dataclass(frozen=True)
class ClearInput:
    """Drop buffered, uncommitted user audio."""


@dataclass(frozen=True)
class UserText:
    text: str
    item_id: str | None = None  # the client's id for this turn, so it can delete it later


@dataclass(frozen=True)
class DeleteItem:
    """Forget a conversation item (the model no longer sees it)."""

    item_id: str


@dataclass(frozen=True)
class CreateResponse:
    instructions: str | None = None


@dataclass(frozen=True)
class ToolResult:
    call_id: str
    output: str
    respond: bool = True  # speak a response that uses the result


@dataclass(frozen=True)
class CancelResponse:
    reason: str = "client_cancelled"


@dataclass(frozen=True)
class Truncate:
    item_id: str
    audio_end_ms: int


Command = (
    Configure
    | AppendAudio
    | Commit
    | ClearInput
    | UserText
    | DeleteItem
    | CreateResponse
    | ToolResult
    | CancelResponse
    | Truncate
)
