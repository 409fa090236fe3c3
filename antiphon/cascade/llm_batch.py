"""ChatLLM on the batched engine: the same interface, safe to call from several threads.

Every ``stream`` is a request to the engine (llm_engine.py), which decodes all active
requests in shared steps; the end-of-turn verdict and the tool judge are requests too
(probes: the next token's probabilities after a prompt), so they batch with the replies.
The reply's sampling rules are ChatLLM's (llm_modes.py): the judge decides CALL or
FIRST_TEXT before the first token, a bare ``{`` switches to the call grammar on the same
logits, ``<tool_call>`` opens the grammar, and a reply that closes its turn leaves the
next user turn's opening evaluated in its slot. ``last_stats`` and
``last_tool_probability`` are per calling thread: concurrent callers never see each
other's.
"""

from __future__ import annotations

import codecs
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from antiphon.agent.toolcall import TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from antiphon.cascade.llm import ChatLLM, GenerationStats, Message
from antiphon.cascade.llm_engine import BatchEngine, EngineThread, Feed, Job
from antiphon.cascade.llm_modes import CancelCheck, Mode, callable_tools, first_mode
from antiphon.cascade.llm_modes import is_cancelled as _is_cancelled
from antiphon.cascade.llm_slots import CHAT, JUDGE, make_sampler
from antiphon.session.commands import Tool, ToolChoice

_END = object()
LEAD = 3  # pieces a reply may run ahead of its consumer (the first phrase's TTS pause)


class Probe(Job):
    """The next token's probabilities after ``prompt`` (None: just fill the cache)."""

    def __init__(self, prompt: list[int], pool: int, keep: bool = True) -> None:
        super().__init__(prompt, pool)
        self.urgent = True
        self.keep = keep
        self.result: Any = None

    def lead(self) -> float | None:
        return 0.0  # a turn waits on it: due now, like a reply whose audio ran out

    def on_logits(self, engine: BatchEngine, row: int) -> Feed:
        if self.keep:
            self.result = self.probs(engine, row)
        return None

    def wait(self) -> Any:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result


class Reply(Job):
    """One ``stream`` call: ChatLLM._stream_locked's rules, advanced one row at a time."""

    def __init__(
        self,
        owner: BatchedChatLLM,
        prompt: list[int],
        mode: Mode,
        tools: Sequence[Tool],
        cancel: CancelCheck,
        max_tokens: int,
        temperature: float,
        judge: Probe | None,
        lead: Callable[[], float | None] | None = None,
    ) -> None:
        super().__init__(prompt, CHAT)
        self._lead = lead  # the consumer's audio ahead of its listener (the engine's schedule)
        self.owner, self.mode, self.tools = owner, mode, tools
        self.cancel, self.max_tokens, self.temperature = cancel, max_tokens, temperature
        self.judge = judge
        self.p_tool: float | None = None
        self.out: queue.Queue[Any] = queue.Queue()
        self.stopped = False  # the consumer left
        self.finished = False  # the reply ended; a tail may still be evaluated
        self.generated = 0
        self.spoke = False
        self.sampler: Any = None
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    # ---- engine thread ---------------------------------------------------------------------
    def cancelled(self) -> bool:
        return not self.finished and (self.stopped or _is_cancelled(self.cancel))

    def lead(self) -> float | None:
        if self.finished or self._lead is None:  # a closing tail is cheap and frees the slot
            return None
        return self._lead()

    def ready(self) -> bool:
        if self.judge is not None:
            return self.judge.done.is_set()
        return self.out.qsize() < LEAD

    def _use(self, mode: Mode) -> None:
        self.mode = mode
        o = self.owner
        self.sampler = make_sampler(
            o._llm, self.temperature, o._grammar(mode, self.tools), o._bans.for_mode(mode), o.seed
        )

    def _end(self, tail: Feed) -> Feed:
        self.finished = True
        rest = self.decoder.decode(b"", final=True)
        if rest:
            self.out.put((rest, 0))
        self.out.put(_END)
        return tail

    def on_logits(self, engine: BatchEngine, row: int) -> Feed:
        o = self.owner
        if self.judge is not None:  # the first row: the judge has answered (ready())
            judge, self.judge = self.judge, None
            self.p_tool = o._p_tool_from(judge.wait())
            if self.p_tool >= o.tool_threshold:
                self._use(Mode.CALL)
                self.out.put((TOOL_CALL_OPEN, 0))
                if o._tool_open_id >= 0:  # the model sees the call it is writing
                    return [o._tool_open_id], True
            else:
                self._use(Mode.FIRST_TEXT)
        elif self.sampler is None:
            self._use(self.mode)
            if self.mode is Mode.CALL:
                self.out.put((TOOL_CALL_OPEN, 0))
        while True:
            token = self.sampler.sample(engine.ctx, row)
            if token in o._stop_ids:
                if self.mode is Mode.CALL:  # the grammar is complete
                    self.out.put((TOOL_CALL_CLOSE, 0))
                    return self._end(None)
                return self._end((o._next_turn_ids, False))  # the next turn's opening
            if self.cancelled():
                return self._end(None)
            assert self.slot is not None
            if self.generated >= self.max_tokens or len(self.slot.tokens) >= o.n_ctx - 1:
                return self._end(None)
            piece = self.decoder.decode(o._llm.detokenize([token], special=False))
            if self.mode is Mode.FREE and not self.spoke and piece.lstrip().startswith("{"):
                # a call written as bare JSON: sample it under the grammar, same logits
                self._use(Mode.CALL)
                self.out.put((TOOL_CALL_OPEN, 0))
                continue
            break
        self.generated += 1
        self.spoke = self.spoke or bool(piece.strip())
        self.out.put((piece, 1))
        if self.mode is Mode.FREE and token == o._tool_open_id:
            self._use(Mode.CALL)  # the model opened a call: its JSON follows the grammar
        elif self.mode is Mode.FIRST_TEXT:
            self._use(Mode.TEXT)  # the first token was text; sample freely from here
        return [token], True

    def on_done(self) -> None:
        if not self.finished:
            self.finished = True
            self.out.put(self.error if self.error is not None else _END)


class BatchedChatLLM(ChatLLM):
    """ChatLLM whose requests share batched decode steps (``slots`` sequences)."""

    def __init__(
        self,
        model_path: str | Path,
        n_threads: int = 2,
        n_ctx: int = 4096,
        slots: int = 8,
        kv_tokens: int = 16384,
        prefill_chunk: int = 64,
        seed: int = 1234,
        tool_threshold: float = 0.85,
    ) -> None:
        self._local = threading.local()  # before ChatLLM's __init__ sets last_stats
        # the Llama's own context is not used for generation: keep it small
        super().__init__(model_path, n_threads, n_ctx=256, seed=seed, tool_threshold=tool_threshold)
        self.n_ctx = min(n_ctx, kv_tokens)  # one conversation's limit
        self.seed = seed
        self.slots = slots
        self.engine = BatchEngine(
            self._llm, self._thread, max(kv_tokens, n_ctx), slots, 1, prefill_chunk
        )

    def _make_thread(self) -> EngineThread:
        return EngineThread()

    # per-call results, per calling thread
    @property
    def last_stats(self) -> GenerationStats | None:
        return getattr(self._local, "stats", None)

    @last_stats.setter
    def last_stats(self, value: GenerationStats | None) -> None:
        self._local.stats = value

    @property
    def last_tool_probability(self) -> float | None:
        return getattr(self._local, "p_tool", None)

    @last_tool_probability.setter
    def last_tool_probability(self, value: float | None) -> None:
        self._local.p_tool = value

    def close(self) -> None:
        self.engine.close()

    def set_threads(self, n_threads: int) -> None:
        self.engine.call(lambda: self.engine.set_threads(n_threads))
        self.n_threads = n_threads

    # ---- probes ------------------------------------------------------------------------------
    def _on_model_thread(self, fn: Any, *args: Any) -> Any:
        return fn(*args)  # the probes inside are engine requests

    def _next_token_probs(self, tokens: list[int]) -> Any:
        return self._probe(tokens, CHAT)

    def _judge_probs(self, tokens: list[int]) -> Any:
        return self._probe(tokens, JUDGE)

    def _probe(self, tokens: list[int], pool: int, keep: bool = True) -> Any:
        probe = Probe(tokens, pool, keep)
        self.engine.submit(probe)
        return probe.wait()

    def warmup(self, system: str | None = None, tools: Sequence[Tool] = ()) -> None:
        from antiphon.agent.chatml import render_chatml

        text = render_chatml(
            [Message("system", system or self.default_system)],
            tools,
            self.default_system,
            add_generation_prompt=False,
        )
        probes = [Probe(self.tokenize(text), CHAT, keep=False)]
        if tools:  # the tool judge's prompt up to the user's words
            probes.append(Probe(self._judge_tokens("", tools), JUDGE, keep=False))
        for p in probes:
            self.engine.submit(p)
        for p in probes:
            p.wait()

    # ---- generation --------------------------------------------------------------------------
    def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[Tool] = (),
        cancel: CancelCheck = None,
        max_tokens: int = 200,
        temperature: float = 0.3,
        tool_choice: ToolChoice = "auto",
        lead: Callable[[], float | None] | None = None,
    ) -> Iterator[str]:
        """ChatLLM.stream; ``lead``: seconds of this reply's speech already queued ahead of
        its listener (None: none yet), read on the engine thread to schedule its steps."""
        t0 = time.perf_counter()
        tokens = self._fit(messages, tools, max_tokens)
        self.last_tool_probability = None
        if _is_cancelled(cancel):
            self.last_stats = GenerationStats(len(tokens), 0, 0, cancelled=True)
            return
        allowed = callable_tools(tools, tool_choice)
        mode = first_mode(tool_choice if allowed else "none")
        judge = None
        if mode is Mode.FREE and messages[-1].role == "user":
            # the judge decides whether this reply is a call (agent/tool_judge.py)
            judge = Probe(self._judge_tokens(messages[-1].content, allowed), JUDGE)
            self.engine.submit(judge)
        prompt = tokens
        if mode is Mode.CALL and self._tool_open_id >= 0:
            prompt = [*tokens, self._tool_open_id]  # the model sees the call it is writing
        reply = Reply(self, prompt, mode, allowed, cancel, max_tokens, temperature, judge, lead)
        self.engine.submit(reply)
        generated, first_s, cancelled = 0, 0.0, False
        try:
            while True:
                try:
                    item = reply.out.get(timeout=0.02)
                except queue.Empty:
                    if _is_cancelled(cancel):
                        cancelled = True
                        break
                    continue
                self.engine.wake()  # room in the reply's lead again
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                if _is_cancelled(cancel):
                    cancelled = True
                    break
                piece, n = item
                generated += n
                if piece:
                    if not first_s:
                        first_s = time.perf_counter() - t0
                    yield piece
                if _is_cancelled(cancel):  # set while the consumer handled the piece
                    cancelled = True
                    break
        finally:
            reply.stopped = True
            self.engine.wake()
            self.last_tool_probability = reply.p_tool
            self.last_stats = GenerationStats(
                prompt_tokens=len(tokens),
                cached_tokens=min(reply.cached, len(tokens)),
                evaluated_tokens=len(tokens) - min(reply.cached, len(tokens)),
                generated_tokens=generated,
                first_token_s=first_s,
                total_s=time.perf_counter() - t0,
                cancelled=cancelled,
            )
