"""What the cascade's turn logic needs from its models, as typed protocols.

The brain, the responder and the turn bookkeeping only see these: speech recognition, the
end-of-turn judgement on audio, the chat model, speech synthesis and a per-session voice
activity detector. ``CascadeStack`` (cascade/stack.py) implements them with the real
models; tests/fake_services.py implements them in memory, so turn-taking, barge-in,
truncation and tool flows are tested without loading a model. Every call is made on the
model's worker thread (cascade/workers.py), never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from antiphon.session.commands import SpeakingStyle, Tool, ToolChoice

if TYPE_CHECKING:
    from antiphon.cascade.config import CascadeConfig
    from antiphon.cascade.conversation import Message


class SpeechRecognizer(Protocol):
    @property
    def char_units(self) -> bool:
        """Transcripts are compared by character (Chinese) rather than by word."""
        ...

    def transcribe(
        self, audio16k: np.ndarray, prompt: str | None = None, quick: bool = False
    ) -> str:
        """The words in ``audio16k`` ("" for no speech); ``quick``: a live partial."""
        ...


class TurnJudge(Protocol):
    def complete_probability(self, audio16k: np.ndarray) -> float:
        """P(the speaker has finished their turn), from the audio alone."""
        ...


class ChatModel(Protocol):
    @property
    def llm(self) -> object:
        """The engine itself (a local one's caches can be filled ahead of a turn)."""
        ...

    def llm_stream(
        self,
        messages: list[Message],
        tools: Sequence[Tool],
        cancel: Callable[[], bool],
        tool_choice: ToolChoice = "auto",
    ) -> Iterator[str]:
        """The reply, piece by piece (a tool call as Qwen's ``<tool_call>`` JSON); stops
        soon after ``cancel()`` turns true."""
        ...

    def end_of_turn_probability(
        self, messages: list[Message], tools: Sequence[Tool]
    ) -> float | None:
        """P(the user's turn ends after the last message's words); None: cannot say."""
        ...

    def warm_prompt(self, system: str, tools: Sequence[Tool]) -> None:
        """Evaluate a system prompt ahead of the first turn that needs it."""
        ...


class SpeechSynthesizer(Protocol):
    @property
    def tts_rate(self) -> int: ...

    def synthesize(self, text: str, style: SpeakingStyle) -> np.ndarray:
        """Mono float32 speech at ``tts_rate``."""
        ...


class VoiceActivity(Protocol):
    """One session's voice activity detector: consecutive 512-sample chunks at 16 kHz."""

    def prob(self, chunk: np.ndarray) -> float: ...


class CascadeServices(SpeechRecognizer, TurnJudge, ChatModel, SpeechSynthesizer, Protocol):
    """Everything a cascade session uses: the four models, a VAD per session, and the
    configuration and fixed phrases of the language it runs."""

    @property
    def config(self) -> CascadeConfig: ...

    def new_vad(self) -> VoiceActivity: ...

    def default_instructions(self) -> str: ...

    def style_request(self, text: str, current: SpeakingStyle) -> SpeakingStyle | None: ...

    def style_ack(self, request: str) -> str: ...

    def filler_text(self) -> str: ...

    def done_text(self) -> str: ...

    def fallback_text(self) -> str: ...
