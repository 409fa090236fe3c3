"""Cascade configuration: which models, and how eagerly each stage starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from antiphon.cascade.asr import DEFAULT_RECOGNIZER
from antiphon.cascade.turns import EndOfTurnRule
from antiphon.models import DEFAULT_LLM

# who gets the built-in demo tools (time, timers, lights): "off" nobody; "ask" sessions that
# ask (the browser page does by default, Realtime extension x_antiphon.demo_tools); "on" every
# session (the demo, the microphone chat). An API client that declares no tools and does
# not ask never receives a tool call.
DemoToolsPolicy = Literal["off", "ask", "on"]


@dataclass(frozen=True)
class CascadeConfig:
    llm: str = DEFAULT_LLM  # a key of antiphon.models.LLM_MODELS
    # the LLM stage on an OpenAI-compatible streaming endpoint instead (`--llm-url`), which
    # serves up to llm_parallel streams of this process at once (its own slots batch them)
    llm_url: str | None = None
    llm_model: str = "default"
    llm_parallel: int = 8
    # the local LLM's sequences (cascade/llm_engine.py): up to this many sessions' replies,
    # end-of-turn verdicts and tool judgements decode in shared batched steps, each session's
    # conversation kept in its own KV sequence; 1 = one llama.cpp context, one stream at a time
    llm_slots: int = 1
    llm_kv_tokens: int = 16384  # KV cells all slots share (unified cache)
    # the batched engine decodes with one thread fewer while the TTS or the ASR computes
    # (off: bench load 2026-12-06 showed no gain, docs/deploy.md)
    llm_share_cpu: bool = False
    # the batched engine: while a reply's audio plays with < 1.5 s queued, only such
    # replies decode (no gap for its listener; a reply not yet speaking starts later), and
    # their next phrases go to TTS before other sessions' first phrases
    llm_protect_playing: bool = False
    # one llama.cpp context (llm_slots 1): after each finished reply the conversation's KV
    # state is kept (cascade/prompt_snapshots.py, 512 MB for all), so a session's next turn
    # after another session's evaluates only its new words; False keeps system prompts only
    llm_conversation_snapshots: bool = True
    language: Literal["en", "zh"] = "en"
    # English recognizer: live partials / final decode models (cascade/asr.py RECOGNIZERS),
    # chosen by `bench quality --asr-study` (docs/bench-quality.md)
    asr: str = DEFAULT_RECOGNIZER
    # beam of the final decode (partials stay greedy): on the tune half a beam of 5 heard the
    # synthetic voices with 8.0 % WER instead of 10.4 % for ~70 ms more per final decode
    # (docs/bench-quality.md, 2026-12-06); English only, Chinese stays greedy (not measured)
    asr_beam: int = 5
    # a chat model (antiphon.models.LLM_MODELS) rescoring the final decode's top hypotheses
    # (cascade/transcript_rescorer.py), or "off"; English with a beam only. Off: with
    # qwen1.5b it heard the synthetic voices of the test half with 8.0 % WER instead of 9.6 %,
    # answered no more of its questions right, and made the final decode 0.67 s slower (p50,
    # 2 cores; docs/bench-quality.md, 2026-12-06)
    asr_rescore: str = "off"
    asr_rescore_weight: float = 0.3  # the LM's weight beside Whisper's (tuned on the tune half)
    llm_threads: int = 2
    asr_threads: int = 2
    tts_threads: int = 1  # TTS runs while the LLM writes: two 2-thread pools on 2 cores thrash
    n_ctx: int = 4096
    max_tokens: int = 160
    first_phrase_words: int = 2  # the first phrase goes to TTS after this many words
    temperature: float = 0.2
    max_tool_rounds: int = 3
    demo_tools: DemoToolsPolicy = "ask"
    # speculative start: ASR final + LLM + TTS begin at the first VAD silence; audio is held
    # until the end of turn is confirmed and thrown away if the user goes on talking
    speculative: bool = True
    partial_interval_ms: int = 700  # re-decode the growing utterance this often
    # when a pause ends the turn: smart-turn (audio) and the chat model (words) each give
    # P(complete); their mean picks the silence to wait (cascade/turns.py)
    end_of_turn: EndOfTurnRule = field(default_factory=EndOfTurnRule)
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
