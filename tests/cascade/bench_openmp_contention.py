"""LLM passes alone and while Whisper decodes in another thread, under this process's
OpenMP settings (llama.cpp's libgomp and CTranslate2's own copy each spin at barriers and
cannot see the other's threads). Results and the end-to-end check that kept libgomp's
default: docs/runs/openmp-contention-2026-12-06.txt.

Run: GOMP_SPINCOUNT=1000 .venv/bin/python tests/cascade/bench_openmp_contention.py"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import numpy as np

from antiphon import models
from antiphon.bench.quality import voices
from antiphon.cascade.asr import StreamingASR
from antiphon.cascade.llm import ChatLLM


def main() -> None:
    llm = ChatLLM(models.LLM_MODELS["qwen1.5b"](), n_threads=2, n_ctx=2048)
    asr = StreamingASR(language="en", recognizer="tiny.en+base", beam_size=5, cpu_threads=2)
    clip = voices.spoken(
        "Could you please tell me what the capital city of Australia is?", "flite:kal"
    )
    prefix = llm.tokenize("<|im_start|>user\n" + "word " * 200)
    extra = llm.tokenize(" What is the capital of France and why")[:8]

    def on_llm_thread(fn: Callable[[], float]) -> float:
        return float(llm._thread.submit(fn).result())  # the thread that owns the model

    on_llm_thread(lambda: float(llm._llm.eval(prefix) or 0))

    def llm_pass(n: int) -> float:
        def run() -> float:
            llm._llm.n_tokens = len(prefix)
            t = time.perf_counter()
            llm._llm.eval(extra[:n])
            return time.perf_counter() - t

        return on_llm_thread(run)

    def measure(label: str, k: int = 25) -> None:
        cells = []
        for n in (8, 1):
            v = [1000 * llm_pass(n) for _ in range(k)]
            p50, p90 = np.percentile(v, 50), np.percentile(v, 90)
            cells.append(f"{n} token(s): p50 {p50:5.0f} p90 {p90:5.0f} max {max(v):5.0f}")
        print(f"{label:9s} " + " | ".join(cells), flush=True)

    print(f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')} "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")  # fmt: skip
    asr.transcribe(clip)
    measure("alone")
    stop = threading.Event()

    def decode_forever() -> None:
        while not stop.is_set():
            asr.transcribe(clip)

    worker = threading.Thread(target=decode_forever, daemon=True)
    worker.start()
    time.sleep(0.5)
    measure("+ Whisper")
    stop.set()
    worker.join()


if __name__ == "__main__":
    main()
