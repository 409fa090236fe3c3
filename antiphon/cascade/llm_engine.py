"""The batched LLM engine: one llama.cpp context with several KV sequences (slots), and one
thread that owns every llama.cpp call and advances every active request in the same steps.

On 2 cores one decode step of the 1.5B model is bound by reading the weights, so decoding
four sequences in one ``llama_decode`` costs little more than one; with one context per
process and one stream at a time, N sessions that speak at once each waited for the
others' whole replies. Each step collects one token per generating request (its last
sampled token) and bounded chunks of new prompt tokens (so one long prompt does not stall
the others' decoding), decodes them as one batch, and hands each request the batch row of
its last token; the request samples from that row with its own sampler chain
(llm_batch.py) and says what to evaluate next.

Which requests a step takes is decided by their deadlines (``schedule``): a reply whose
synthesized audio already runs ``HUNGRY_S`` ahead of its listener yields its steps to the
replies that have less (first: those with no audio yet), so the step is smaller and theirs
come sooner; when every reply is that far ahead, only those under ``AHEAD_S`` decode, and
none past it (the CPU goes to speech synthesis instead).

Requests are ``Job``s: a prompt that must be in the job's slot, then callbacks on the
engine thread. Everything here runs on that thread except ``submit``, ``call`` and
``wake``.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from antiphon.cascade.llm_slots import CHAT, Placement, Slot, SlotPool

log = logging.getLogger("antiphon.cascade.llm_engine")

# seconds of a reply's audio queued ahead of playback: below HUNGRY_S it decodes in the
# next step; at or above it, it yields to the hungry ones; at AHEAD_S it waits even alone
HUNGRY_S, AHEAD_S = 1.5, 4.0


def schedule(leads: list[float | None], protect_playing: bool = False) -> list[int]:
    """Which jobs the next step takes (indices, in the given order), from each job's audio
    lead in seconds (None: no audio yet; 0: a probe a turn waits on). Each step's cost
    grows with its rows (8 rows cost ~4x one on 2 cores, llm_batch_bench), so a reply with
    audio to spare gives its row to those whose listeners wait or soon will.
    ``protect_playing``: while a reply's audio plays with less than HUNGRY_S queued, only
    such replies (and probes) decode: its listener would hear a gap, while a reply not yet
    speaking only starts later (as with one stream at a time)."""
    if protect_playing:
        dry = [i for i, lead in enumerate(leads) if lead is not None and lead < HUNGRY_S]
        if dry:
            return dry
    hungry = [i for i, lead in enumerate(leads) if lead is None or lead < HUNGRY_S]
    if hungry:
        return hungry
    return [i for i, lead in enumerate(leads) if lead is not None and lead < AHEAD_S]


class EngineThread:
    """A one-thread executor on a daemon thread: the engine's loop never returns while the
    process lives, and a ThreadPoolExecutor's thread would be joined at exit (a hang)."""

    def __init__(self, name: str = "llama-engine") -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self._jobs.put((lambda: fn(*args), fut))
        return fut

    def _run(self) -> None:
        while True:
            fn, fut = self._jobs.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)


# what to evaluate next after a batch row was handed over: tokens, and whether the last of
# them needs its logits (another row); None: the job is done
Feed = tuple[list[int], bool] | None


class Job:
    """One request's work. Subclasses (llm_batch.py) override the callbacks."""

    def __init__(self, prompt: list[int], pool: int = CHAT) -> None:
        if not prompt:
            raise ValueError("a job needs at least one prompt token")
        self.prompt = prompt
        self.pool = pool
        self.urgent = False  # placed before waiting replies (a verdict the turn waits on)
        self.pending: list[int] = []
        self.want_logits = True
        self.started = False  # its first row was handed over (it decodes now)
        self.slot: Slot | None = None  # where it runs (engine thread only)
        self.cached = 0  # prompt tokens found in the cache when it was placed
        self.done = threading.Event()
        self.error: BaseException | None = None

    def cancelled(self) -> bool:
        return False

    def lead(self) -> float | None:
        """Seconds of this job's output already voiced ahead of its listener (None: none
        yet, or nobody listens: due now)."""
        return None

    def ready(self) -> bool:
        """May the token that yields this job's next row be evaluated now? (Backpressure
        from a slow consumer; a reply waiting for its tool judge.)"""
        return True

    def on_logits(self, engine: BatchEngine, row: int) -> Feed:
        return None

    def on_done(self) -> None:
        """Called once on the engine thread when the job leaves (done, cancelled, failed)."""

    def probs(self, engine: BatchEngine, row: int) -> np.ndarray:
        """The next token's probability distribution from batch row ``row``."""
        raw = np.ctypeslib.as_array(
            engine.llama.llama_get_logits_ith(engine.ctx.ctx, row), shape=(engine.n_vocab,)
        )
        logits = raw.astype(np.float64)
        logits -= logits.max()
        p = np.exp(logits)
        return p / p.sum()


class BatchEngine:
    def __init__(
        self,
        llm: Any,
        thread: EngineThread,
        n_ctx: int,
        chat_slots: int,
        judge_slots: int = 1,
        prefill_chunk: int = 64,
    ) -> None:
        """``llm``: a loaded llama_cpp.Llama (its weights and vocabulary are shared);
        ``thread``: the single thread that loaded it and will own every call; ``n_ctx``:
        KV cells of the one unified cache that all slots share."""
        import llama_cpp

        self.llama = llama_cpp
        self.llm = llm
        self.n_vocab = llm.n_vocab()
        self.prefill_chunk = prefill_chunk
        self.slots = SlotPool(chat_slots, judge_slots)
        n_seq = chat_slots + judge_slots
        self.capacity = max(256, prefill_chunk + 16 * n_seq)
        self._thread = thread
        self._cv = threading.Condition()
        self._incoming: list[Job] = []
        self._calls: list[tuple[Callable[[], Any], Future[Any]]] = []
        self._closed = False
        self._woken = False  # a wake() since the last step: do not sleep
        self._active: list[Job] = []
        self._waiting: list[Job] = []
        self.steps = 0
        self.rows = 0  # tokens decoded, for the bench
        self.n_threads = self._threads_now = int(llm.context_params.n_threads)
        self.crowded: Callable[[], bool] | None = None  # another model computes now (stack.py)
        self.protect_playing = False  # schedule(): replies whose audio plays go first
        thread.submit(self._open, n_ctx, n_seq).result()
        self._loop_future = thread.submit(self._loop)

    def _open(self, n_ctx: int, n_seq: int) -> None:
        from llama_cpp import _internals as internals

        params = self.llama.llama_context_default_params()
        ctypes.pointer(params)[0] = self.llm.context_params  # threads, types, flash attention
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = self.capacity
        params.n_seq_max = n_seq
        params.kv_unified = True  # a prefix shared by several slots is stored once
        self.ctx = internals.LlamaContext(model=self.llm._model, params=params, verbose=False)
        self.n_ctx = self.ctx.n_ctx()
        self._batch = internals.LlamaBatch(n_tokens=self.capacity, embd=0, n_seq_max=1)
        self._mem = self.llama.llama_get_memory(self.ctx.ctx)

    # ---- from any thread -----------------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._cv:
            if self._closed:
                raise RuntimeError("the LLM engine is closed")
            self._incoming.append(job)
            self._cv.notify()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the engine thread between two steps; returns its result."""
        fut: Future[Any] = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("the LLM engine is closed")
            self._calls.append((fn, fut))
            self._cv.notify()
        return fut.result()

    def wake(self) -> None:
        """A consumer took a piece (its reply may run again)."""
        with self._cv:
            self._woken = True
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._loop_future.result()

    # ---- the engine thread ---------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cv:
                if self._closed:
                    break
                calls, self._calls = self._calls, []
                self._waiting += self._incoming
                self._incoming = []
            for fn, fut in calls:
                try:
                    fut.set_result(fn())
                except BaseException as exc:
                    fut.set_exception(exc)
            try:
                worked = self._step()
            except Exception as exc:  # a decode failure: every job in flight gets it
                log.exception("LLM engine step failed")
                for job in [*self._active]:
                    self._finish(job, exc)
                worked = True
            with self._cv:
                if not (worked or self._woken or self._incoming or self._calls or self._closed):
                    self._cv.wait(0.05)
                self._woken = False
        for job in [*self._active, *self._waiting, *self._incoming]:
            self._finish(job, RuntimeError("the LLM engine closed"))
        self._batch.close()
        self.ctx.close()

    def _finish(self, job: Job, error: BaseException | None = None) -> None:
        if job.done.is_set():
            return
        if job in self._active:
            self._active.remove(job)
        if job in self._waiting:
            self._waiting.remove(job)
        slot = job.slot
        if slot is not None and slot.busy:
            slot.busy = False
            slot.touch()
        job.error = error
        try:
            job.on_done()
        finally:
            job.done.set()

    def _place(self, job: Job, pl: Placement) -> None:
        slot = pl.slot
        slot.busy = True
        slot.touch()
        if pl.share_from is not None:  # unified cache: the donor's cells now also hold ours
            self.llama.llama_memory_seq_rm(self._mem, slot.seq, -1, -1)
            self.llama.llama_memory_seq_cp(self._mem, pl.share_from.seq, slot.seq, 0, pl.shared)
            slot.tokens = pl.share_from.tokens[: pl.shared]
        else:
            if not self.llama.llama_memory_seq_rm(self._mem, slot.seq, pl.keep, -1):
                raise RuntimeError("this model's KV cache cannot be rewound (recurrent model?)")
            slot.tokens = slot.tokens[: pl.keep]
        job.slot = slot
        job.cached = len(slot.tokens)
        job.pending = job.prompt[job.cached :]
        self._active.append(job)

    def _step(self) -> bool:
        for job in [*self._active, *self._waiting]:
            if job.cancelled():
                self._finish(job)
        for job in sorted(self._waiting, key=lambda j: not j.urgent):  # stable: arrival order
            pl = self.slots.place(job.pool, job.prompt)
            if pl is not None:
                self._waiting.remove(job)
                self._place(job, pl)
        # decoding jobs first (one token each), then prompt chunks in arrival order; of
        # those, the ones whose listeners need words soonest (schedule)
        order = [j for j in self._active if j.started] + [j for j in self._active if not j.started]
        # (a job that cannot run now, its consumer full or its judge not answered, has no say)
        able = [j for j in order if j.pending[: -1 if j.want_logits and not j.ready() else None]]
        order = [able[i] for i in schedule([j.lead() for j in able], self.protect_playing)]
        batch: list[tuple[Job, list[int], bool]] = []
        # prompts go in bounded chunks only while a reply decodes (its listener waits on
        # every step); with none decoding, a step takes as much prompt as fits: a fresh
        # engine evaluated bench quality's 8-tool system and judge prompts in 8.1 s and 4
        # steps instead of 9.1 s and 13 (2 cores, 2026-12-07)
        decoding = any(j.started for j in self._active)
        room, budget = self.capacity, self.prefill_chunk if decoding else self.capacity
        for job in order:
            limit = min(room, len(job.pending) if job.started else budget)
            take = job.pending[:limit]
            last = len(take) == len(job.pending) and job.want_logits
            if last and not job.ready():
                take, last = take[:-1], False
            if not take:
                continue
            batch.append((job, take, last))
            room -= len(take)
            if not job.started:
                budget -= len(take)
            if room <= 0:
                break
        if not batch:
            return False
        self._decode(batch)
        return True

    def set_threads(self, n_threads: int) -> None:
        self.n_threads = n_threads
        self._fit_threads()

    def _fit_threads(self) -> None:
        """One thread fewer while another model computes (speech synthesis, recognition):
        llama.cpp's threads meet at every layer, so on 2 cores a thread preempted by the
        other model stalls the whole step while the others spin."""
        want = self.n_threads
        if want > 1 and self.crowded is not None and self.crowded():
            want -= 1
        if want != self._threads_now:
            self.llama.llama_set_n_threads(self.ctx.ctx, want, want)
            self._threads_now = want

    def _decode(self, batch: list[tuple[Job, list[int], bool]]) -> None:
        b = self._batch.batch
        n = 0
        rows: list[tuple[Job, int]] = []
        for job, take, last in batch:
            assert job.slot is not None
            seq, pos0 = job.slot.seq, len(job.slot.tokens)
            for i, token in enumerate(take):
                b.token[n] = token
                b.pos[n] = pos0 + i
                b.n_seq_id[n] = 1
                b.seq_id[n][0] = seq
                b.logits[n] = last and i == len(take) - 1
                n += 1
            if last:
                rows.append((job, n - 1))
        b.n_tokens = n
        self._fit_threads()
        rc = self.llama.llama_decode(self.ctx.ctx, b)
        if rc == 1:  # no room in the KV cache: drop the least recently used idle cache
            idle = self.slots.idle_lru()
            if idle:
                self.llama.llama_memory_seq_rm(self._mem, idle[0].seq, -1, -1)
                idle[0].tokens = []
                return
            newest = batch[-1][0]
            self._finish(
                newest,
                RuntimeError(
                    f"the LLM's KV cache ({self.n_ctx} tokens shared by every session) is full"
                ),
            )
            return
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")
        self.steps += 1
        self.rows += n
        for job, take, _last in batch:
            assert job.slot is not None
            job.slot.tokens += take
            job.pending = job.pending[len(take) :]
        for job, row in rows:
            try:
                feed = job.on_logits(self, row)
            except Exception as exc:
                self._finish(job, exc)
                continue
            job.started = True
            if feed is None:
                self._finish(job)
            else:
                job.pending, job.want_logits = list(feed[0]), feed[1]
        for job, _take, _last in batch:  # a tail evaluated without logits: nothing follows
            if job in self._active and not job.pending and not job.want_logits:
                self._finish(job)
