"""Cascade configuration: which models, and how eagerly each stage starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from antiphon.cascade.asr import DEFAULT_RECOGNIZER


@dataclass(frozen=True)
class CascadeConfig:
    llm: Literal["qwen", "smollm2"] = "qwen"
    language: Literal["en", "zh"] = "en"
    # English recognizer: live partials / final decode models (cascade/asr.py RECOGNIZERS),
    # chosen by `bench quality --asr-study` (docs/bench-quality.md)
    asr: str = DEFAULT_RECOGNIZER
    llm_threads: int = 2
    asr_threads: int = 2
    tts_threads: int = 1  # TTS runs while the LLM writes: two 2-thread pools on 2 cores thrash
    n_ctx: int = 4096
    max_tokens: int = 160
    first_phrase_words: int = 2  # the first phrase goes to TTS after this many words
    temperature: float = 0.2
    max_tool_rounds: int = 3
    # speculative start: ASR final + LLM + TTS begin at the first VAD silence; audio is held
    # until the end of turn is confirmed and thrown away if the user goes on talking
    speculative: bool = True
    partial_interval_ms: int = 700  # re-decode the growing utterance this often
    smart_turn_threshold: float = 0.5
    # earliest end of turn when smart-turn says "complete"; the speculative pipeline needs
    # longer than this anyway, so it costs no latency but saves "Stop." + pause misfires
    min_eot_silence_ms: int = 350
    # smart-turn says "incomplete" but the transcript ends in "?": end the turn after this
    # much silence rather than the full max_silence_ms
    question_eot_silence_ms: int = 600
    input_stall_s: float = 2.0  # no audio this long inside a user turn ends the turn
    # overlap speech this much quieter than the user's own turns is not for the agent
    # (the user turned away, a television): it neither pauses nor stops the agent
    far_speech_db: float = 8.0
    # pause playback the moment near overlap speech starts, resume if it was no barge-in
    hold_on_overlap: bool = True
    filler_en: str = "One moment, let me check."
    filler_zh: str = "请稍等，我查一下。"
    fallback_en: str = "Sorry, I couldn't do that."
    fallback_zh: str = "抱歉，我没能完成。"
