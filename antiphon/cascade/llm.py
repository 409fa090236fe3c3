"""Streaming chat LLM on llama.cpp with the conversation kept in the KV cache.

A voice turn must start speaking fast, so a new turn should only evaluate the tokens that
are new since the last one. The prompt is rendered in full every turn (ChatML is
append-only, so earlier turns render to the same tokens) and compared with the tokens
already in llama.cpp's KV cache; only the differing suffix is evaluated. ``last_stats``
records how many tokens that was.

Synchronous by design: run ``stream`` in a worker thread and set ``cancel`` to stop it
within one token (barge-in).

Every llama.cpp call runs on one thread that ChatLLM owns. llama.cpp parallelises with
OpenMP, and libgomp keeps a worker pool per calling thread; once a process holds more pool
threads than CPUs, libgomp stops spinning at barriers and sleeps on a futex instead, which
on 2 cores made each token 60 % slower (70 vs 44 ms, measured in a voice session where the
warm-up and successive turns ran on different threads).
"""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from antiphon.agent.chatml import DEFAULT_SYSTEM, IM_END, IM_START, Message, Role, render_chatml
from antiphon.agent.toolcall import TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from antiphon.cascade.llm_grammars import ModeGrammars
from antiphon.cascade.llm_modes import (
    CancelCheck,
    Mode,
    SpeechBans,
    ban_tokens,
    callable_tools,
    common_prefix_length,
    first_mode,
)
from antiphon.cascade.llm_modes import is_cancelled as _is_cancelled
from antiphon.cascade.llm_verdicts import ModelVerdicts, sentence_end_ids
from antiphon.cascade.prompt_snapshots import LlamaHost, PromptSnapshots
from antiphon.cascade.side_context import SideContext
from antiphon.session.commands import Tool, ToolChoice

__all__ = ["ChatLLM", "GenerationStats", "Message", "Role", "render_chatml"]


@dataclass(frozen=True)
class GenerationStats:
    prompt_tokens: int  # length of the rendered prompt
    cached_tokens: int  # prefix reused from the KV cache
    evaluated_tokens: int  # prompt tokens actually run through the model this turn
    generated_tokens: int = 0
    first_token_s: float = 0.0  # from the call to the first yielded text
    total_s: float = 0.0
    cancelled: bool = False

    @property
    def tokens_per_s(self) -> float:
        gen_time = self.total_s - self.first_token_s
        return (
            (self.generated_tokens - 1) / gen_time
            if self.generated_tokens > 1 and gen_time > 0
            else 0.0
        )


class ChatLLM(ModelVerdicts):
    """One llama.cpp model and its KV cache; one generation at a time."""

    def __init__(
        self,
        model_path: str | Path,
        n_threads: int = 2,
        n_ctx: int = 4096,
        n_batch: int = 256,
        seed: int = 1234,
        tool_threshold: float = 0.85,
    ) -> None:
        from llama_cpp import Llama

        self.model_path = Path(model_path)
        self._thread = self._make_thread()
        self._llm = self._thread.submit(
            lambda: Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=n_batch,
                seed=seed,
                verbose=False,
            )
        ).result()
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        template = str(self._llm.metadata.get("tokenizer.chat_template", ""))
        name = (str(self._llm.metadata.get("general.name", "")) + self.model_path.name).lower()
        if IM_START not in template and template:
            raise ValueError(
                f"{self.model_path.name}: only ChatML models are supported (Qwen2.5, SmolLM2)"
            )
        self.family = "smollm" if "smollm" in name else "qwen"
        self.default_system = DEFAULT_SYSTEM[self.family]
        self._stop_ids = {self._llm.token_eos()}
        for special in (IM_END, "<|endoftext|>"):
            ids = self._llm.tokenize(special.encode(), add_bos=False, special=True)
            if len(ids) == 1:
                self._stop_ids.add(ids[0])
        self._next_turn_ids = self.tokenize(f"{IM_END}\n{IM_START}user\n")
        end_ids = self.tokenize(IM_END)
        self._snapshots = PromptSnapshots(
            LlamaHost(self._llm), end_ids[0] if len(end_ids) == 1 else -1
        )
        open_ids = self.tokenize(TOOL_CALL_OPEN)
        self._tool_open_id = open_ids[0] if len(open_ids) == 1 else -1  # Qwen: one added token
        self._grammars = ModeGrammars()
        # every token's text, once (~0.4 s at load): what speech may not write, what ends a
        # sentence
        vocab = self._thread.submit(
            lambda: [self._llm.detokenize([i]) for i in range(self._llm.n_vocab())]
        ).result()
        self._bans = SpeechBans(vocab, self._tool_open_id)
        self._lock = threading.Lock()
        self._judge: SideContext | None = None  # the tool judge's context, made on first use
        self.judge_ctx = 2048
        self._none_ids: set[int] = set()
        self._end_ids = self._stop_ids | sentence_end_ids(vocab)  # the verdict's "it ends here"
        # a reply with tools is a call when the judge's P(tool) reaches this (0.85: tuned on the
        # tuning half of `antiphon bench quality`)
        self.tool_threshold = tool_threshold
        self.last_tool_probability: float | None = None
        self.last_stats: GenerationStats | None = None

    def _make_thread(self) -> Any:  # the thread of every llama.cpp call: an executor of one
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")

    def set_threads(self, n_threads: int) -> None:
        """Change the thread count between turns. On a busy 2-core machine one thread is
        several times faster than two: llama.cpp's threads spin-wait on each other, and a
        descheduled thread stalls every layer (measured 3.0 vs 0.5 tokens/s under load 7)."""
        import llama_cpp

        with self._lock:
            llama_cpp.llama_set_n_threads(self._llm._ctx.ctx, n_threads, n_threads)
            self.n_threads = n_threads

    # --- prompt -----------------------------------------------------------------------
    def render(self, messages: Sequence[Message], tools: Sequence[Tool] = ()) -> str:
        return render_chatml(messages, tools, self.default_system)

    def tokenize(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _fit(
        self, messages: Sequence[Message], tools: Sequence[Tool], max_tokens: int
    ) -> list[int]:
        """Prompt tokens; the oldest turns are dropped (system kept) when the context is full."""
        msgs = list(messages)
        while True:
            tokens = self.tokenize(self.render(msgs, tools))
            if len(tokens) + max_tokens <= self.n_ctx:
                return tokens
            first = 1 if msgs and msgs[0].role == "system" else 0
            if len(msgs) - first <= 1:
                raise ValueError(
                    f"prompt of {len(tokens)} tokens does not fit n_ctx={self.n_ctx} "
                    f"with max_tokens={max_tokens}"
                )
            del msgs[first]
            while len(msgs) > first + 1 and msgs[first].role in ("assistant", "tool"):
                del msgs[first]  # never start the history with an orphan reply or tool result

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Rewind the cache to the longest prefix it shares with ``tokens``; returns its length.

        At least one token is left to evaluate: its logits give the first new token.
        ``Llama.eval`` drops KV entries from ``n_tokens`` on before it decodes.
        """
        llm = self._llm
        prefix = min(common_prefix_length(llm._input_ids.tolist(), tokens), len(tokens) - 1)
        # a system block the cache lacks comes from its snapshot (or is evaluated and saved)
        prefix = self._snapshots.reuse(tokens, prefix)
        llm.n_tokens = prefix
        return prefix

    def _next_token_probs(self, tokens: list[int]) -> Any:
        """Evaluate ``tokens`` (reusing the cached prefix) and return the next token's
        probabilities over the vocabulary. Runs on the llama thread."""
        import numpy as np

        llm = self._llm
        llm.eval(tokens[self._reuse_prefix(tokens) :])
        # the last evaluated position's logits (llama-cpp keeps no copy without logits_all)
        raw = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        logits = raw.astype(np.float64)
        logits -= logits.max()
        probs = np.exp(logits)
        return probs / probs.sum()

    def warmup(self, system: str | None = None, tools: Sequence[Tool] = ()) -> None:
        """Put the system prompt (with tools) into the KV cache before the first turn."""
        text = render_chatml(
            [Message("system", system or self.default_system)],
            tools,
            self.default_system,
            add_generation_prompt=False,
        )
        tokens = self.tokenize(text)

        def fill() -> None:
            self._llm.eval(tokens[self._reuse_prefix(tokens) :])
            if tools:  # the tool judge's prompt up to the user's words, in its own context
                self._p_tool_locked("", tools)

        with self._lock:
            self._thread.submit(fill).result()

    # --- generation -------------------------------------------------------------------
    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        cancel: CancelCheck = None,
        max_tokens: int = 200,
        temperature: float = 0.3,
        tool_choice: ToolChoice = "auto",
    ) -> Iterator[str]:
        """Yield text pieces as they are generated (complete UTF-8 characters only).

        With tools, a tool call comes out as ``<tool_call>{json}`` text for ToolCallParser;
        its JSON is sampled under a grammar of the declared tools. ``tool_choice="none"``
        keeps the tools in the prompt (and the KV cache) but makes the reply start as
        speech: use it for the answer right after a tool result, where small models tend
        to call the same tool again. ``"required"`` forces a call.
        """
        t0 = time.perf_counter()
        if not self._lock.acquire(timeout=10.0):
            raise RuntimeError("ChatLLM is busy: the previous stream was not closed or cancelled")
        try:
            # the generator's body (every llama.cpp call) advances on the llama thread, one
            # piece per request, so a consumer that stops asking also stops the model
            pieces = self._stream_locked(
                messages, tools, cancel, max_tokens, temperature, tool_choice, t0
            )
            try:
                while (piece := self._thread.submit(next, pieces, None).result()) is not None:
                    yield piece
            finally:
                self._thread.submit(pieces.close).result()
        finally:
            self._lock.release()

    def _stream_locked(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool],
        cancel: CancelCheck,
        max_tokens: int,
        temperature: float,
        tool_choice: ToolChoice,
        t0: float,
    ) -> Generator[str, None, None]:
        llm = self._llm
        tokens = self._fit(messages, tools, max_tokens)
        if _is_cancelled(cancel):
            self.last_stats = GenerationStats(len(tokens), 0, 0, cancelled=True)
            return
        allowed = callable_tools(tools, tool_choice)
        cached = self._reuse_prefix(tokens)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        generated, first_s, cancelled, spoke = 0, 0.0, False, False
        # reset=False: the cache was already rewound to the shared prefix above, so generate()
        # evaluates only the new suffix. It yields each token before evaluating it, so
        # checking cancel right after our own yield never pays for an extra forward pass.
        # Switching mode = closing the generator and starting another at the same state.
        mode = first_mode(tool_choice if allowed else "none")
        self.last_tool_probability = None  # set when the judge was asked
        if mode is Mode.FREE and messages[-1].role == "user":
            # the judge decides whether this reply is a call (agent/tool_judge.py)
            p_tool = self._p_tool_locked(messages[-1].content, allowed)
            self.last_tool_probability = p_tool
            mode = Mode.CALL if p_tool >= self.tool_threshold else Mode.FIRST_TEXT
        prompt = tokens[cached:]
        if mode is Mode.CALL and self._tool_open_id >= 0:
            prompt = [*prompt, self._tool_open_id]  # the model sees the call it is writing
        tokens_out = self._generate(prompt, temperature, mode, allowed)
        if mode is Mode.CALL:
            yield TOOL_CALL_OPEN
        ended = False  # the model closed its turn itself (not after a tool call)
        try:
            while True:
                token = next(tokens_out, None)
                if token is None or token in self._stop_ids:
                    if mode is Mode.CALL:
                        # the grammar is complete (it allows only end-of-generation now)
                        yield TOOL_CALL_CLOSE
                    ended = token is not None and mode is not Mode.CALL
                    break
                if _is_cancelled(cancel):
                    cancelled = True
                    break
                if generated >= max_tokens or llm.n_tokens >= self.n_ctx - 1:
                    break
                piece = decoder.decode(llm.detokenize([token], special=False))
                if mode is Mode.FREE and not spoke and piece.lstrip().startswith("{"):
                    # a call written as bare JSON without the tags (small models do): the
                    # model chose to call; drop this token and sample the call under the
                    # grammar from the same logits
                    tokens_out.close()
                    mode = Mode.CALL
                    tokens_out = self._generate([], temperature, mode, allowed)
                    yield TOOL_CALL_OPEN
                    continue
                generated += 1
                spoke = spoke or bool(piece.strip())
                if piece:
                    if not first_s:
                        first_s = time.perf_counter() - t0
                    yield piece
                if _is_cancelled(cancel):  # set while the consumer handled the piece
                    cancelled = True
                    break
                next_mode = mode
                if mode is Mode.FREE and token == self._tool_open_id:
                    next_mode = Mode.CALL  # the model opened a call: its JSON follows the grammar
                elif mode is Mode.FIRST_TEXT:
                    next_mode = Mode.TEXT  # the first token was text; sample freely from here
                if next_mode is not mode:
                    # the new generator evaluates this token, which the old one had not yet
                    tokens_out.close()
                    mode = next_mode
                    tokens_out = self._generate([token], temperature, mode, allowed)
            tail = decoder.decode(b"", final=True)
            if tail and not cancelled:
                yield tail
        finally:
            tokens_out.close()
            self.last_stats = GenerationStats(
                prompt_tokens=len(tokens),
                cached_tokens=cached,
                evaluated_tokens=len(tokens) - cached,
                generated_tokens=generated,
                first_token_s=first_s,
                total_s=time.perf_counter() - t0,
                cancelled=cancelled,
            )
        if ended and not cancelled:
            # queued behind this stream on the llama thread, while the reply is still playing
            self._thread.submit(self._prefill_next_turn)

    def keep_conversations(self, on: bool) -> None:
        """Keep each conversation's KV state after its replies (on by default), or system
        prompts only."""
        self._snapshots.conversations = on

    def _prefill_next_turn(self) -> None:
        """Evaluate how every next user turn begins (the end of the reply the model just
        closed, then ``<|im_start|>user``), so the turn that follows evaluates only its own
        words: ~5 fewer tokens between the user's last word and the first reply token. A
        different next prompt (a cut reply, a tool result) diverges and is re-evaluated from
        there by the prefix match, as before. Runs on the llama thread, after the stream's
        last step and before any later call (that thread serialises all model state).
        The context is then kept as a snapshot: if another session's turn takes it, this
        conversation's next turn restores it instead of evaluating its history again."""
        llm = self._llm
        llm.eval(self._next_turn_ids)
        self._snapshots.remember(llm._input_ids.tolist())

    def _generate(
        self, tokens: list[int], temperature: float, mode: Mode, tools: Sequence[Tool]
    ) -> Generator[int, None, None]:
        """Tokens sampled in ``mode``. Only CALL runs a grammar over the whole vocabulary on
        every token (llama.cpp's grammar sampler): a call is ~20-40 tokens, and a spoken
        answer pays nothing for it. Speech modes ban markup instead (SpeechBans): in TEXT,
        after ``tool_choice="none"`` or the judge's "no tool", the token that opens a call too."""
        ban = self._bans.for_mode(mode)
        return self._llm.generate(
            tokens,
            reset=False,
            temp=temperature,
            top_k=40,
            top_p=0.9,
            min_p=0.05,
            repeat_penalty=1.05,
            grammar=self._grammar(mode, tools),
            logits_processor=ban_tokens(ban) if ban else None,
        )

    def _grammar(self, mode: Mode, tools: Sequence[Tool]) -> object | None:
        return self._grammars.for_mode(mode, tools)  # the batched engine's rows use it too

    def complete(
        self, messages: Sequence[Message], tools: Sequence[Tool] = (), **kwargs: Any
    ) -> str:
        """The whole reply as one string (tests, tools)."""
        return "".join(self.stream(messages, tools, **kwargs))
