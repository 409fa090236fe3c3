"""Model workers: priority order, withdrawn jobs, streams, and the old wedge's shape."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

from antiphon.cascade.workers import ModelWorker, Urgency


def _blocked(worker: ModelWorker) -> threading.Event:
    """Occupy the worker until the returned event is set."""
    gate = threading.Event()
    worker.submit(lambda: gate.wait(5.0))
    while not worker.busy():
        time.sleep(0.001)
    return gate


def test_jobs_run_by_urgency_then_deadline_then_arrival() -> None:
    w = ModelWorker("test")
    order: list[str] = []
    gate = _blocked(w)
    now = time.monotonic()
    futs = [
        w.submit(lambda: order.append("partial"), Urgency.BACKGROUND),
        w.submit(lambda: order.append("later phrase, due in 2 s"), Urgency.SOON, now + 2.0),
        w.submit(lambda: order.append("later phrase, due in 1 s"), Urgency.SOON, now + 1.0),
        w.submit(lambda: order.append("first phrase A")),
        w.submit(lambda: order.append("first phrase B")),
    ]
    gate.set()
    for f in futs:
        f.result(timeout=5)
    assert order == [
        "first phrase A",
        "first phrase B",
        "later phrase, due in 1 s",
        "later phrase, due in 2 s",
        "partial",
    ]
    w.close()


async def test_a_withdrawn_call_never_runs() -> None:
    w = ModelWorker("test")
    ran: list[int] = []
    gate = _blocked(w)
    task = asyncio.ensure_future(w.call(ran.append, 1))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    gate.set()
    assert await w.call(ran.append, 2) is None
    assert ran == [2]
    assert w.stats.skipped == 1
    w.close()


async def test_stream_yields_in_order_stops_on_request_and_raises_failures() -> None:
    w = ModelWorker("test")
    stop = threading.Event()
    got = [x async for x in w.stream(lambda: iter(range(5)), stop)]
    assert got == [0, 1, 2, 3, 4]

    produced: list[int] = []

    def endless():  # type: ignore[no-untyped-def]
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1
            time.sleep(0.001)

    stop = threading.Event()
    async for x in w.stream(endless, stop):
        if x == 3:
            break
    await asyncio.sleep(0.05)
    assert stop.is_set() and len(produced) <= 6  # stopped within an item or two

    def broken():  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("engine down")

    try:
        async for _ in w.stream(broken, threading.Event()):
            pass
    except ValueError as exc:
        assert "engine down" in str(exc)
    else:
        raise AssertionError("the stream's failure was not raised")
    w.close()


async def test_eight_streams_that_wait_on_another_model_all_finish() -> None:
    """The wedge: each response's LLM stream pauses until its first phrase is synthesized
    by another model. With both models on their own threads, eight at once all finish
    (in the shared-pool design five waiting producers plus one speaking filled the pool
    and the TTS call that would release them never ran)."""
    llm, tts = ModelWorker("llm"), ModelWorker("tts")

    async def respond(i: int) -> list[str]:
        may_run = threading.Event()
        stop = threading.Event()
        words: list[str] = []

        def tokens():  # type: ignore[no-untyped-def]
            for k in range(4):
                time.sleep(0.002)
                yield f"s{i}w{k}"

        async for word in llm.stream(
            tokens, stop, between=lambda: may_run.wait(5.0), owner=f"s{i}"
        ):
            words.append(word)
            if len(words) == 1:  # the first phrase goes to TTS; the LLM waits meanwhile
                await tts.call(time.sleep, 0.005, owner=f"s{i}")
                may_run.set()
        return words

    results = await asyncio.wait_for(asyncio.gather(*(respond(i) for i in range(8))), 10)
    assert all(len(r) == 4 for r in results)
    llm.close()
    tts.close()


async def test_a_stream_s_model_reads_the_audio_lead_of_its_response() -> None:
    """The batched LLM engine schedules a reply by how far its audio runs ahead: the model
    call on the worker thread reads the lead its response passed to ``stream``."""
    from antiphon.cascade.workers import current_lead

    w = ModelWorker("test", threads=2)
    queued = [0.0]

    def reads() -> Iterator[float | None]:
        for _ in range(2):
            probe = current_lead()
            yield None if probe is None else probe()
            queued[0] = 2.5

    got = [x async for x in w.stream(reads, threading.Event(), lead=lambda: queued[0])]
    assert got == [0.0, 2.5]
    # another stream on the same threads, without a lead, reads none (not the last one's)
    plain = [x async for x in w.stream(reads, threading.Event())]
    assert plain == [None, None]
    w.close()
