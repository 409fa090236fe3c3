"""One worker thread per model, shared by every session, with an async interface.

A model instance serves one call at a time. Before, each call ran in the event loop's
default executor and blocked there on a stack-wide lock (and the LLM producer on an event
only the first phrase's TTS sets): five waiting sessions plus one speaking filled the
six-thread pool, the TTS call that would have released them queued behind them, and eight
simultaneous talkers wedged the server. Here no pool thread ever waits for a model: a call
is a job in the model's own queue, awaited from the event loop, and only the model's thread
runs it.

Jobs are ordered by (urgency class, deadline, arrival): first phrases before later
phrases, final decodes before partials; within a class the earliest deadline wins (a later
phrase is due when the audio already synthesized for its response runs out), so a session
with seconds of audio queued waits for one that has none, and equal deadlines are served
in arrival order. A job whose caller gave up (cancelled task, dropped session) is skipped
without running, and a running stream stops at its next item.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import itertools
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

T = TypeVar("T")
Lead = Callable[[], float | None]  # seconds of a response's audio ahead of its listener

_running = threading.local()


def current_lead() -> Lead | None:
    """The audio lead of the response whose stream this worker thread runs (``stream``'s
    ``lead``), for a model that schedules its work by it (the batched LLM engine)."""
    return getattr(_running, "lead", None)


class Urgency(IntEnum):
    """Lower runs first."""

    # decides whether a turn has ended: the words' end-of-turn verdict; a playing reply's
    # next phrase whose audio is about to run out (config llm_protect_playing)
    GATE = 0
    NOW = 1  # someone is waiting in silence: final transcript, first phrase, overlap check
    SOON = 2  # due when the audio ahead of it runs out: later phrases, follow-up passes
    BACKGROUND = 3  # nice to have: live partial transcripts


@dataclass(order=True)
class _Job:
    key: tuple[int, float, int]
    run: Callable[[], Any] = field(compare=False)
    future: concurrent.futures.Future[Any] = field(compare=False)
    owner: str = field(compare=False, default="")
    queued_at: float = field(compare=False, default=0.0)


@dataclass
class WorkerStats:
    """Counters read by /metrics (plain numbers: the cascade does not import the server)."""

    done: int = 0
    skipped: int = 0  # cancelled before they ran
    failed: int = 0
    busy_s: float = 0.0
    wait_s_sum: float = 0.0
    waits: list[float] = field(default_factory=list)  # recent queue waits, drained by metrics


class ModelWorker:
    """A thread that runs one model's calls in priority order (``threads`` > 1 only for an
    engine that serves several calls at once itself, like a remote LLM server with
    parallel slots)."""

    def __init__(self, name: str, threads: int = 1) -> None:
        self.name = name
        self._heap: list[_Job] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._closed = False
        self.running: dict[int, str] = {}  # thread id -> owner of the job it runs
        self.stats = WorkerStats()
        self._threads = [
            threading.Thread(target=self._loop, name=f"model-{name}-{i}", daemon=True)
            for i in range(threads)
        ]
        for t in self._threads:
            t.start()

    # ---- submitting ------------------------------------------------------------------------
    def submit(
        self,
        fn: Callable[[], T],
        urgency: Urgency = Urgency.NOW,
        deadline: float | None = None,
        owner: str = "",
    ) -> concurrent.futures.Future[T]:
        now = time.monotonic()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()
        job = _Job(
            (int(urgency), now if deadline is None else deadline, next(self._seq)),
            fn,
            fut,
            owner,
            now,
        )
        with self._cv:
            if self._closed:
                raise RuntimeError(f"the {self.name} worker is closed")
            heapq.heappush(self._heap, job)
            self._cv.notify()
        return fut

    async def call(
        self,
        fn: Callable[..., T],
        *args: Any,
        urgency: Urgency = Urgency.NOW,
        deadline: float | None = None,
        owner: str = "",
    ) -> T:
        """Run ``fn(*args)`` on this model's thread; cancelling the awaiting task withdraws
        a job that has not started (a started call runs to its end: model calls are short)."""
        fut = self.submit(lambda: fn(*args), urgency, deadline, owner)
        try:
            return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            fut.cancel()
            raise

    async def stream(
        self,
        make: Callable[[], Iterator[T]],
        stop: threading.Event,
        urgency: Urgency = Urgency.NOW,
        deadline: float | None = None,
        owner: str = "",
        between: Callable[[], object] | None = None,
        lead: Lead | None = None,
    ) -> AsyncGenerator[T, None]:
        """Iterate ``make()`` on this model's thread, yielding its items here as they come.

        ``stop`` ends the iteration at the next item (set when the consumer leaves, or by the
        caller to cancel); ``between`` runs on the model's thread after each item (the
        LLM's pause while the first phrase is synthesized: it waits on the TTS worker,
        never on a shared pool); ``lead`` says how far the response's audio runs ahead of
        its listener, readable by ``make()``'s model as ``current_lead()``."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()

        def put(done: bool, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (done, value))
            except RuntimeError:  # the loop is gone (server shut down): nobody listens
                stop.set()

        def run() -> None:
            _running.lead = lead
            try:
                if not stop.is_set():
                    items = make()
                    try:
                        for item in items:
                            put(False, item)
                            if stop.is_set():
                                break
                            if between is not None:
                                between()
                            if stop.is_set():
                                break
                    finally:  # a generator's cleanup (the model's own lock) runs here, now
                        close = getattr(items, "close", None)
                        if close is not None:
                            close()
            except BaseException as exc:  # handed to the consumer, which raises it
                put(True, exc)
                return
            finally:
                _running.lead = None
            put(True, None)

        fut = self.submit(run, urgency, deadline, owner)
        try:
            while True:
                done, value = await queue.get()
                if done:
                    if value is not None:
                        raise value
                    return
                yield value
        finally:
            stop.set()
            fut.cancel()  # not started yet: it never runs

    # ---- the thread ----------------------------------------------------------------------
    def depth(self) -> int:
        """Jobs waiting (not counting the one running)."""
        with self._cv:
            return len(self._heap)

    def busy(self) -> bool:
        return bool(self.running)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            for job in self._heap:
                job.future.cancel()
            self._heap.clear()
            self._cv.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._heap and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                job = heapq.heappop(self._heap)
            if not job.future.set_running_or_notify_cancel():
                self.stats.skipped += 1
                continue
            t0 = time.monotonic()
            wait = t0 - job.queued_at
            self.stats.wait_s_sum += wait
            if len(self.stats.waits) < 4096:
                self.stats.waits.append(wait)
            me = threading.get_ident()
            self.running[me] = job.owner
            try:
                result = job.run()
            except BaseException as exc:
                self.stats.failed += 1
                job.future.set_exception(exc)
            else:
                self.stats.done += 1
                job.future.set_result(result)
            finally:
                del self.running[me]
                self.stats.busy_s += time.monotonic() - t0


class StackWorkers:
    """The worker of each shared model: speech recognition, the end-of-turn model, the
    LLM and speech synthesis. Per-session models (VAD, echo canceller) need none."""

    def __init__(self, llm_threads: int = 1) -> None:
        self.asr = ModelWorker("asr")
        self.turn = ModelWorker("smart-turn")
        self.llm = ModelWorker("llm", threads=llm_threads)
        self.tts = ModelWorker("tts")

    def all(self) -> dict[str, ModelWorker]:
        return {w.name: w for w in (self.asr, self.turn, self.llm, self.tts)}

    def idle(self) -> bool:
        return all(not w.busy() and not w.depth() for w in self.all().values())

    def close(self) -> None:
        for w in self.all().values():
            w.close()


_attach_lock = threading.Lock()


def workers_of(stack: object) -> StackWorkers:
    """The workers of a loaded stack (made on first use, one set per stack)."""
    found = getattr(stack, "workers", None)
    if isinstance(found, StackWorkers):
        return found
    with _attach_lock:
        found = getattr(stack, "workers", None)
        if not isinstance(found, StackWorkers):
            found = StackWorkers()
            stack.workers = found  # type: ignore[attr-defined]
        return found
