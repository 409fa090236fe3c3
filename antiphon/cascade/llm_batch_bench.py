"""``python -m antiphon.cascade.llm_batch_bench [model] [threads] [tokens]``: aggregate decode
rate of 1, 2, 4 and 8 parallel streams on the batched engine (cascade/llm_engine.py),
beside the single-context ChatLLM answering the same questions one after another.

Each stream is a different conversation (same system prompt, its own question), greedy,
``tokens`` new tokens (no early stop: the question asks for a long answer). The first
round warms every slot, so the measured rounds evaluate only each question's words.
"""

from __future__ import annotations

import os
import threading
import time

from antiphon.cascade.llm import ChatLLM, Message
from antiphon.cascade.llm_batch import BatchedChatLLM

QUESTIONS = [
    "Tell me about the history of Rome.",
    "Describe how bread is made.",
    "Explain how rain forms.",
    "Tell me about the planets of the solar system.",
    "Describe a day at the beach.",
    "Explain how a bicycle works.",
    "Tell me about the life of bees.",
    "Describe the city of Paris.",
]


def _run(llm: ChatLLM, system: Message, n: int, tokens: int) -> tuple[float, int, float]:
    """Seconds for n parallel streams, tokens generated, mean first-token time."""
    done: list[tuple[int, float]] = []

    def one(q: str) -> None:
        t0 = time.perf_counter()
        first = 0.0
        count = 0
        for _piece in llm.stream([system, Message("user", q)], max_tokens=tokens, temperature=0.0):
            first = first or time.perf_counter() - t0
            count += 1
        done.append((count, first))

    threads = [threading.Thread(target=one, args=(QUESTIONS[i],)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return wall, sum(c for c, _ in done), sum(f for _, f in done) / len(done)


def bench(model: str = "qwen1.5b", n_threads: int = 2, tokens: int = 48) -> None:
    from antiphon.agent.persona import default_instructions
    from antiphon.models import LLM_MODELS

    system = Message("system", default_instructions("en"))
    path = LLM_MODELS[model]()
    load = os.getloadavg()[0]
    print(f"{model}, {n_threads} threads, {tokens} tokens per stream, load {load:.2f}")
    single = ChatLLM(path, n_threads=n_threads)
    single.warmup(system.content)
    wall, count, _first = _run(single, system, 1, tokens)  # warm
    t0 = time.perf_counter()
    total = 0
    for q in QUESTIONS[:4]:
        total += len(
            list(single.stream([system, Message("user", q)], max_tokens=tokens, temperature=0.0))
        )
    wall = time.perf_counter() - t0
    print(f"ChatLLM, 4 streams one after another: {total / wall:.1f} pieces/s ({wall:.1f} s)")
    del single
    engine = BatchedChatLLM(path, n_threads=n_threads, slots=8)
    engine.warmup(system.content)
    _run(engine, system, 8, 4)  # every slot holds its conversation's prefix
    for n in (1, 2, 4, 8):
        steps = engine.engine.steps
        wall, count, first = _run(engine, system, n, tokens)
        print(
            f"engine, {n} parallel: {count / wall:.1f} pieces/s aggregate, "
            f"{count / wall / n:.1f} per stream, first piece {first:.2f} s, "
            f"{engine.engine.steps - steps} steps, {wall:.1f} s, load {os.getloadavg()[0]:.2f}"
        )
    engine.close()


if __name__ == "__main__":
    import sys

    bench(
        sys.argv[1] if len(sys.argv) > 1 else "qwen1.5b",
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        int(sys.argv[3]) if len(sys.argv) > 3 else 48,
    )
