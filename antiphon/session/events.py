"""Typed events a brain (and the Session) emits. Protocol adapters translate these; brains
never know about JSON or sockets. Audio is mono float32 at the event's sample rate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

ResponseStatus = Literal["completed", "cancelled", "failed", "incomplete"]


@dataclass(frozen=True)
class UserSpeechStarted:
    audio_ms: int  # position on the input audio timeline
    item_id: str


@dataclass(frozen=True)
class UserSpeechStopped:
    audio_ms: int
    item_id: str


@dataclass(frozen=True)
class UserTranscriptDelta:
    item_id: str
    text: str


@dataclass(frozen=True)
class UserTranscriptFinal:
    item_id: str
    text: str
    language: str = "en"


@dataclass(frozen=True)
class ResponseStarted:
    response_id: str
    item_id: str


@dataclass(frozen=True)
class AgentTextDelta:
    response_id: str
    item_id: str
    text: str


@dataclass(frozen=True)
class AudioChunk:
    response_id: str
    item_id: str
    audio: np.ndarray = field(repr=False)  # float32 mono
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class ToolCall:
    response_id: str
    item_id: str
    call_id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True)
class ToolResultSpoken:
    """A tool ran locally; its output is now part of the conversation."""

    call_id: str
    name: str
    output: str


@dataclass(frozen=True)
class ResponseDone:
    response_id: str
    item_id: str
    status: ResponseStatus
    reason: str | None = None  # e.g. "turn_detected" (barge-in), "client_cancelled"
    text: str = ""  # what the agent said (after truncation: what the user heard)
    heard_ms: int | None = None  # playback position at truncation


@dataclass(frozen=True)
class StyleChanged:
    speed: float
    volume: float
    pitch: float


@dataclass(frozen=True)
class ErrorEvent:
    code: str  # machine-readable, e.g. "invalid_audio_format"
    message: str  # what was wrong and what was expected
    recoverable: bool = True


@dataclass(frozen=True)
class Metrics:
    """Per-turn latency breakdown in milliseconds on the audio timeline."""

    response_id: str
    values: dict[str, float]


Event = (
    UserSpeechStarted
    | UserSpeechStopped
    | UserTranscriptDelta
    | UserTranscriptFinal
    | ResponseStarted
    | AgentTextDelta
    | AudioChunk
    | ToolCall
    | ToolResultSpoken
    | ResponseDone
    | StyleChanged
    | ErrorEvent
    | Metrics
)
