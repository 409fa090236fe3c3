"""Batched sessions for ``antiphon bench e2e``: N conversations in one step per frame.

For N = 1, 2, 4, 8 the full loop (codec encode of N user frames, one LM step with its depth
steps and per-item sampling, codec decode of N agent frames) is timed frame-interleaved
(each N in turn on the same frame index, so machine noise hits all alike). Reported: the
batched step's p50/p95, the per-session cost (p50 / N), the ratio to one session and the
real-time verdict (p95 under one 80 ms frame).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import torch

from antiphon.bench.codec import _pct
from antiphon.codec.model import MimiModel
from antiphon.e2e.stack import quantize_loop_int8
from antiphon.lm.generate import LMGenerator
from antiphon.lm.model import LMModel
from antiphon.lm.sampling import SamplingParams

FRAME_S = 0.08
Step = Callable[[torch.Tensor], None]


def batched_loop(model: LMModel, mimi: MimiModel, n: int) -> Step:
    gen = LMGenerator(model, SamplingParams(seed=0))
    gen.seed_items(list(range(n)))
    state = gen.init_state(n)
    codec = mimi.init_state(n)
    user_q = model.config.user_q

    def step(frames: torch.Tensor) -> None:
        codes = mimi.encode_step(frames[:n], codec.encoder)
        out = gen.step(state, codes[:, :user_q, 0])
        agent = torch.zeros(n, mimi.num_codebooks, 1, dtype=torch.long)
        if out is not None:
            agent = out.audio.clamp(min=0).unsqueeze(-1)
        mimi.decode_step(agent, codec.decoder)

    return step


def time_batches(
    model: LMModel, mimi: MimiModel, sizes: tuple[int, ...], frames: int, int8: bool
) -> dict[int, list[float]]:
    lm = model
    if int8:
        lm, mimi = copy.deepcopy(model), copy.deepcopy(mimi)
        quantize_loop_int8(lm, mimi)
    steps = {n: batched_loop(lm, mimi, n) for n in sizes}
    g = torch.Generator().manual_seed(2)
    times: dict[int, list[float]] = {n: [] for n in sizes}
    with torch.inference_mode():
        for i in range(frames + 5):
            x = 0.1 * torch.randn(max(sizes), 1, 1920, generator=g)
            for n, step in steps.items():
                t0 = time.perf_counter()
                step(x)
                if i >= 5:
                    times[n].append(time.perf_counter() - t0)
    return times


def report(
    model: LMModel,
    mimi: MimiModel,
    frames: int,
    sizes: tuple[int, ...] = (1, 2, 4, 8),
    reference_p50_ms: float | None = None,
) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    for int8 in (False, True):
        kind = "int8" if int8 else "float32"
        times = time_batches(model, mimi, sizes, frames, int8)
        one = _pct(times[sizes[0]], 0.5)
        print(f"\nBatched sessions, full loop, ours {kind} (one step per frame for N sessions):")
        print(f"  {'N':>3} {'p50 ms':>8} {'p95 ms':>8} {'per session ms':>15} {'vs N=1':>7}"
              f" {'real time':>10}")  # fmt: skip
        for n in sizes:
            p50, p95 = _pct(times[n], 0.5), _pct(times[n], 0.95)
            verdict = "yes" if p95 < FRAME_S else "no"
            print(f"  {n:>3} {1e3 * p50:8.1f} {1e3 * p95:8.1f} {1e3 * p50 / n:15.1f}"
                  f" {p50 / one:6.2f}x {verdict:>10}")  # fmt: skip
            rows[f"{kind} N={n}"] = {
                "p50_ms": 1e3 * p50,
                "p95_ms": 1e3 * p95,
                "per_session_ms": 1e3 * p50 / n,
                "vs_one": p50 / one,
            }
    if reference_p50_ms is not None:
        print(f"  reference (moshi, one session, same run): p50 {reference_p50_ms:.1f} ms")
    return rows
