"""In-memory stand-ins for the cascade's models (antiphon/cascade/services.py), so the
turn logic (turn-taking, barge-in, truncation, tool flows) is tested in milliseconds and
without loading a model.

The fake voice is a tone: each scripted utterance gets its own frequency and lasts
``WORD_S`` per word; the fake recognizer finds the utterance by its frequency and hears
as many of its words as the audio holds whole words of it. So a turn cut short is heard
short, a barge-in is transcribed from its own audio, and the audio a test sends is all
the recognizer knows. The fake voice activity detector is a level threshold; the fake
agent voice is seeded noise (never coherent with the user's tone, so never taken for
echo), ``AGENT_WORD_S`` per word.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from antiphon.agent import persona
from antiphon.agent.style_requests import acknowledgement, detect_style_request
from antiphon.cascade.config import CascadeConfig
from antiphon.cascade.conversation import Message
from antiphon.cascade.services import CascadeServices
from antiphon.session.commands import SpeakingStyle, Tool, ToolChoice

RATE = 16000
WORD_S = 0.3  # the user's fake speech per word
AGENT_WORD_S = 0.25  # the agent's fake speech per word
FRAME = 512
BIN_HZ = RATE / FRAME  # 31.25 Hz: utterances are two bins apart
LEVEL = 0.1


class FakeVoice:
    """Renders the user's utterances as tones and remembers which tone said what."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def say(self, text: str) -> np.ndarray:
        if text not in self.texts:
            self.texts.append(text)
        k = self.texts.index(text)
        hz = 250.0 + 2 * BIN_HZ * k
        n = int(len(text.split()) * WORD_S * RATE)
        t = np.arange(n) / RATE
        return (LEVEL * np.sin(2 * np.pi * hz * t)).astype(np.float32)

    def hear(self, audio: np.ndarray) -> str:
        """The words of each utterance whose tone ``audio`` holds, in order, as many of
        them as it holds whole (all of them: the text with its punctuation)."""
        n = len(audio) // FRAME
        frames = audio[: n * FRAME].reshape(n, FRAME)
        runs: list[list[int]] = []  # [utterance, frames] in order of appearance
        for f in frames:
            if float(np.sqrt(np.mean(f**2))) < 0.1 * LEVEL:
                continue
            peak = int(np.argmax(np.abs(np.fft.rfft(f * np.hanning(FRAME)))))
            k = round((peak * BIN_HZ - 250.0) / (2 * BIN_HZ))
            if not 0 <= k < len(self.texts):
                continue
            if runs and runs[-1][0] == k:
                runs[-1][1] += 1
            else:
                runs.append([k, 1])
        out = []
        for k, count in runs:
            words = self.texts[k].split()
            heard = int(count * FRAME / RATE / WORD_S + 0.25)
            out.append(self.texts[k] if heard >= len(words) else " ".join(words[:heard]))
        return " ".join(w for w in out if w)


class LevelVAD:
    def prob(self, chunk: np.ndarray) -> float:
        return 1.0 if float(np.sqrt(np.mean(chunk**2))) > 0.02 else 0.0


Reply = Callable[[list[Message]], str]


@dataclass
class FakeServices:
    """A CascadeServices whose chat model says what ``reply`` returns for the prompt
    (or the next of ``replies``), in 7-character pieces like tokens."""

    voice: FakeVoice = field(default_factory=FakeVoice)
    replies: list[str] = field(default_factory=list)
    reply: Reply | None = None
    turn_complete: float = 0.9  # both end-of-turn verdicts
    config: CascadeConfig = field(default_factory=lambda: CascadeConfig(demo_tools="ask"))
    tts_rate: int = RATE
    llm: object = None  # no engine whose caches could be filled ahead
    prompts: list[list[Message]] = field(default_factory=list)  # every pass's prompt
    transcribed: int = 0

    # ---- speech recognition
    @property
    def char_units(self) -> bool:
        return False

    def transcribe(
        self, audio16k: np.ndarray, prompt: str | None = None, quick: bool = False
    ) -> str:
        self.transcribed += 1
        return self.voice.hear(audio16k)

    # ---- end of turn
    def complete_probability(self, audio16k: np.ndarray) -> float:
        return self.turn_complete

    def end_of_turn_probability(
        self, messages: list[Message], tools: Sequence[Tool]
    ) -> float | None:
        return self.turn_complete

    # ---- chat model
    def llm_stream(
        self,
        messages: list[Message],
        tools: Sequence[Tool],
        cancel: Callable[[], bool],
        tool_choice: ToolChoice = "auto",
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        if self.reply is not None:
            text = self.reply(messages)
        else:
            text = self.replies.pop(0) if self.replies else "All done."
        for i in range(0, len(text), 7):
            if cancel():
                return
            yield text[i : i + 7]

    def warm_prompt(self, system: str, tools: Sequence[Tool]) -> None:
        return None

    # ---- speech synthesis: seeded noise, AGENT_WORD_S per word
    def synthesize(self, text: str, style: SpeakingStyle) -> np.ndarray:
        n = int(max(1, len(text.split())) * AGENT_WORD_S * self.tts_rate)
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        return (LEVEL * rng.standard_normal(n)).astype(np.float32)

    # ---- per session, fixed phrases
    def new_vad(self) -> LevelVAD:
        return LevelVAD()

    def default_instructions(self) -> str:
        return persona.default_instructions(self.config.language)

    def style_request(self, text: str, current: SpeakingStyle) -> SpeakingStyle | None:
        return detect_style_request(text, current)

    def style_ack(self, request: str) -> str:
        return acknowledgement(request, self.config.language) or "Okay."

    def filler_text(self) -> str:
        return self.config.filler_en

    def done_text(self) -> str:
        return "Done."

    def fallback_text(self) -> str:
        return self.config.fallback_en


def _conforms(s: FakeServices) -> CascadeServices:  # mypy checks the fake against the protocol
    return s
