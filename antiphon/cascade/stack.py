"""The loaded models of the cascade, shared by every session of a process, and the
per-session tool set. Models load once; each is owned by one worker thread
(``self.workers``, cascade/workers.py) that runs every session's calls to it in priority
order; the locks only guard the few calls made outside the workers (start-up)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from antiphon import models
from antiphon.agent import persona
from antiphon.agent.builtin_tools import DemoTools
from antiphon.agent.style_requests import acknowledgement, detect_style_request
from antiphon.audio.io import resample
from antiphon.cascade import zh_tts
from antiphon.cascade.asr import StreamingASR
from antiphon.cascade.config import CascadeConfig
from antiphon.cascade.llm import ChatLLM, Message
from antiphon.cascade.llm_batch import BatchedChatLLM
from antiphon.cascade.remote_llm import RemoteChatLLM, RemoteLLMError
from antiphon.cascade.smart_turn import SmartTurn
from antiphon.cascade.transcript_rescorer import rescorer_for
from antiphon.cascade.tts import EspeakTTS, PiperTTS
from antiphon.cascade.vad import SileroVAD
from antiphon.cascade.workers import StackWorkers, current_lead
from antiphon.cascade.zh_tts import ZhttsTTS
from antiphon.session.commands import SpeakingStyle, Tool, ToolChoice

if TYPE_CHECKING:
    from antiphon.cascade.services import CascadeServices

Progress = Callable[[str], None]
log = logging.getLogger("antiphon.cascade")


class CascadeStack:
    def __init__(
        self, config: CascadeConfig | None = None, progress: Progress | None = None
    ) -> None:
        self.config = cfg = config or CascadeConfig()
        say = progress or (lambda _msg: None)
        t0 = time.monotonic()
        say("loading VAD and end-of-turn models")
        self._vad_path = str(models.silero_vad_onnx())
        self.smart_turn = SmartTurn()
        say(f"loading speech recognition ({'Whisper base' if cfg.language == 'zh' else cfg.asr})")
        self.asr = StreamingASR(
            language=cfg.language,
            cpu_threads=cfg.asr_threads,
            recognizer=cfg.asr,
            beam_size=cfg.asr_beam if cfg.language == "en" else 1,  # measured on English
            rescorer=rescorer_for(cfg.asr_rescore, cfg.asr_rescore_weight, cfg.asr_threads)
            if cfg.language == "en" and cfg.asr_beam > 1
            else None,
        )
        say(f"loading language model ({cfg.llm_url or cfg.llm})")
        self.llm: ChatLLM | RemoteChatLLM = self._load_llm(cfg)
        say("loading text-to-speech")
        self.tts: PiperTTS | EspeakTTS | ZhttsTTS = self._load_tts(cfg)
        self.tts_rate = self.tts.sample_rate
        self._asr_lock, self._llm_lock, self._tts_lock, self._turn_lock = (
            threading.Lock(),
            threading.Lock(),
            threading.Lock(),
            threading.Lock(),
        )
        # a remote engine serves several streams at once (its slots batch them), so does the
        # local batched engine (two threads more: a verdict never waits behind full slots);
        # one plain llama.cpp context serves one
        batched = isinstance(self.llm, BatchedChatLLM)
        self.workers = StackWorkers(
            llm_threads=cfg.llm_parallel if cfg.llm_url else cfg.llm_slots + 2 if batched else 1
        )
        if isinstance(self.llm, BatchedChatLLM):
            self.llm.engine.protect_playing = cfg.llm_protect_playing
        if isinstance(self.llm, BatchedChatLLM) and cfg.llm_share_cpu:
            # the engine decodes all the time under load: it leaves a core to the TTS and
            # the ASR while they run (the single context pauses for the first phrase instead)
            w = self.workers
            self.llm.engine.crowded = lambda: w.tts.busy() or w.asr.busy()
        say("warming up")
        # the prompt most sessions start with: with the demo tools where every session has them
        # or the browser page asks for them ("ask", its default). One prompt stays cached:
        # with "ask" a first API session without tools evaluates its 94-token system prompt
        # (0.4 s measured on 2 cores) where a first page session would evaluate 598 tokens
        # with the tools (~10 s; measured 2026-12-07: the first page turn after start took
        # 17.3 s from the end of the turn to the first audio, later ones 1.4-1.7 s)
        demo = DemoTools().registry.schemas() if cfg.demo_tools in ("on", "ask") else []
        system = self.default_instructions()
        self._warm_up(persona.with_tool_guidance(system, cfg.language) if demo else system, demo)
        self.load_seconds = time.monotonic() - t0
        say(f"models ready in {self.load_seconds:.1f} s")

    def _warm_up(self, system: str, tools: list[Tool]) -> None:
        """Every stage once with real input, on the thread that runs it in a session: the
        first question after start should cost what later ones cost (first-run graph
        optimisation, the short and the full recognition window, smart-turn, sampling)."""
        w = self.workers
        try:
            w.llm.submit(lambda: self.llm.warmup(system, tools=tools)).result()
        except RemoteLLMError as exc:  # the engine may come up after us: sessions say so
            log.warning("LLM endpoint not ready at start-up: %s", exc)
        speech = w.tts.submit(
            lambda: self.synthesize("Hello, what time is it?", SpeakingStyle())
        ).result()
        speech16k = resample(speech, self.tts_rate, 16000)
        w.asr.submit(lambda: self.transcribe(speech16k, quick=True)).result()
        w.asr.submit(lambda: self.transcribe(speech16k)).result()
        w.turn.submit(lambda: self.complete_probability(speech16k)).result()

    @staticmethod
    def _load_llm(cfg: CascadeConfig) -> ChatLLM | RemoteChatLLM:
        if cfg.llm_url:
            return RemoteChatLLM(cfg.llm_url, model=cfg.llm_model)
        path = models.LLM_MODELS[cfg.llm]()
        if cfg.llm_slots > 1:
            return BatchedChatLLM(
                path,
                n_threads=cfg.llm_threads,
                n_ctx=cfg.n_ctx,
                slots=cfg.llm_slots,
                kv_tokens=cfg.llm_kv_tokens,
            )
        llm = ChatLLM(path, n_threads=cfg.llm_threads, n_ctx=cfg.n_ctx)
        llm.keep_conversations(cfg.llm_conversation_snapshots)
        return llm

    def _llm_guard(self) -> contextlib.AbstractContextManager[object]:
        """One stream at a time on a single llama.cpp context; the batched engine takes
        every caller at once (it queues what its slots cannot hold)."""
        return contextlib.nullcontext() if isinstance(self.llm, BatchedChatLLM) else self._llm_lock

    @staticmethod
    def _load_tts(cfg: CascadeConfig) -> PiperTTS | EspeakTTS | ZhttsTTS:
        if cfg.language != "zh":
            return PiperTTS(n_threads=cfg.tts_threads)
        return ZhttsTTS() if zh_tts.available() else EspeakTTS("zh")

    # ---- per-session pieces -------------------------------------------------------------
    def new_vad(self) -> SileroVAD:
        return SileroVAD(self._vad_path)

    def default_instructions(self) -> str:
        return persona.default_instructions(self.config.language)

    # ---- model calls (run in worker threads) ----------------------------------------------
    def transcribe(
        self, audio16k: np.ndarray, prompt: str | None = None, quick: bool = False
    ) -> str:
        with self._asr_lock:
            return self.asr.transcribe(audio16k, prompt, quick)

    @property
    def char_units(self) -> bool:
        """Transcripts are compared by character (Chinese) rather than by word."""
        return self.asr.char_units

    def complete_probability(self, audio16k: np.ndarray) -> float:
        with self._turn_lock:
            return self.smart_turn.completion_probability(audio16k)

    def llm_stream(
        self,
        messages: list[Message],
        tools: Sequence[Tool],
        cancel: Callable[[], bool],
        tool_choice: ToolChoice = "auto",
    ) -> Iterator[str]:
        if isinstance(self.llm, BatchedChatLLM):
            # the batched engine decodes first the replies whose listeners need words
            # soonest: the audio lead of the response this worker stream serves
            yield from self.llm.stream(
                messages,
                tools=tools,
                cancel=cancel,
                tool_choice=tool_choice,
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
                lead=current_lead(),
            )
            return
        with self._llm_guard():
            yield from self.llm.stream(
                messages,
                tools=tools,
                cancel=cancel,
                tool_choice=tool_choice,
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
            )

    def warm_prompt(self, system: str, tools: Sequence[Tool]) -> None:
        """Evaluate a session's system prompt (and its tool judge's) ahead of its first turn."""
        with self._llm_guard():
            self.llm.warmup(system, tools)

    def end_of_turn_probability(
        self, messages: list[Message], tools: Sequence[Tool]
    ) -> float | None:
        """The chat model's probability that the user's turn ends after their words (None
        from a remote engine: the chat API gives no next-token probabilities, so the
        acoustic verdict decides alone)."""
        if isinstance(self.llm, RemoteChatLLM):
            return None
        with self._llm_guard():
            return self.llm.end_of_turn_probability(messages, tools)

    def synthesize(self, text: str, style: SpeakingStyle) -> np.ndarray:
        with self._tts_lock:
            return self.tts.synthesize(text, style)

    # ---- language-dependent phrases --------------------------------------------------------
    def style_request(self, text: str, current: SpeakingStyle) -> SpeakingStyle | None:
        return detect_style_request(text, current)

    def _zh(self) -> bool:
        return self.config.language == "zh"

    def filler_text(self) -> str:
        return self.config.filler_zh if self._zh() else self.config.filler_en

    def done_text(self) -> str:
        return "好了。" if self._zh() else "Done."

    def fallback_text(self) -> str:
        return self.config.fallback_zh if self._zh() else self.config.fallback_en

    def style_ack(self, request: str) -> str:
        said = acknowledgement(request, self.config.language)
        return said or ("好的。" if self._zh() else "Okay.")


class SessionTools:
    """The tools one session offers the model: the operator's built-in demo tools (run
    here; only where the operator turns them on, ``CascadeConfig.demo_tools``) plus the tools
    the client declared (run by the client, results come back as ToolResult). A session
    that declares no tools and did not get the demo tools offers none: the model then never
    sees a tool section and can never call one, as with OpenAI's own server."""

    def __init__(self, stack: CascadeServices) -> None:
        self.local = DemoTools()
        self.client: dict[str, Tool] = {}
        self.tool_choice: ToolChoice = "auto"
        self._policy = stack.config.demo_tools
        self._demo = self._policy == "on"

    @property
    def demo_enabled(self) -> bool:
        return self._demo

    @demo_enabled.setter
    def demo_enabled(self, on: bool) -> None:
        """A client's request (``x_antiphon.demo_tools``); the operator's "off" wins."""
        self._demo = on and self._policy != "off"

    def set_client_tools(self, tools: Sequence[Tool]) -> None:
        self.client = {t.name: t for t in tools}

    def _demo_schemas(self) -> list[Tool]:
        if not self._demo:
            return []
        return [t for t in self.local.registry.schemas() if t.name not in self.client]

    def schemas(self) -> list[Tool]:
        """All tools stay in the prompt even with tool_choice "none" (the KV cache holds)."""
        return self._demo_schemas() + list(self.client.values())

    def is_local(self, name: str) -> bool:
        return self._demo and name in self.local.registry and name not in self.client

    def is_client(self, name: str) -> bool:
        return name in self.client

    def is_slow(self, name: str) -> bool:
        return self.is_local(name) and self.local.registry.is_slow(name)

    def run(self, name: str, arguments_json: str) -> str:
        return self.local.registry.run(name, arguments_json)

    def due_reminders(self) -> list[str]:
        return [
            f"Your timer{' for ' + t.label if t.label else ''} is done."
            for t in self.local.timers.pop_due()
        ]
