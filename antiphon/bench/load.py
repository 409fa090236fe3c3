"""`antiphon bench load`: how many conversations one machine serves at once, and whether
it survives the client that misbehaves. Everything runs against the real cascade (models
loaded once) behind a live server on loopback, through real Realtime WebSocket clients
that speak in real time (antiphon/bench/load_clients.py).

1. Simultaneous talkers: N sessions each ask one spoken question at the same moment.
2. Staggered arrivals: N sessions connected; their questions start at Poisson arrivals
   (mean gap ``--gap`` s). ``conversations`` (``--scenarios``, not run by default): the
   same arrivals, each session asking 3 questions in turn (1 s after each answer ends).
   For both, N = 1, 2, 4, 8, 16: voice-to-voice p50/p90 (first answer audio after the end
   of the user's speech), completion, late audio (gaps a 100 ms jitter buffer hears),
   refusals.
3. Flooding client: one client appends 30 x 10 s of noise back to back while another asks
   a question; that question's latency beside its latency on an idle server, and the
   errors the flooder got.
4. Abrupt disconnects: ``--disconnects`` clients ask by text and vanish mid-reply (8 at a
   time); then server threads, tasks and RSS beside their values before, and the next
   question's latency.

``--compare-slots 1,8`` runs the talker scenarios once per LLM slot count (cascade/
llm_engine.py; 1 = one llama.cpp stream at a time), one stack after the other in the same
run, so the two paths are measured side by side under the same machine load (``8s``: 8
slots with ``llm_share_cpu``, the engine giving up a thread while TTS/ASR run; ``8p``:
with ``llm_protect_playing``, replies whose audio plays decode first; ``1n``: one stream
without conversation snapshots, system prompts only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.apps.demo import USER_VOICE
from antiphon.apps.factory import load_stack
from antiphon.audio.io import resample
from antiphon.bench.latency import QUESTIONS, pct
from antiphon.bench.load_clients import RATE, Turn, abort_mid_reply, converse, flood, talk
from antiphon.cascade.llm_batch import BatchedChatLLM

LEVELS = (1, 2, 4, 8, 16)
TURNS = 3  # questions per session in the conversations scenario
STAGES = ("eot_ms", "asr_final_ms", "llm_first_token_ms", "tts_first_audio_ms")


def summary(turns: list[Turn], label: str, n: int, slots: int | str = 1) -> dict[str, Any]:
    v2v = [t.v2v_s for t in turns if t.v2v_s is not None]
    return {
        "scenario": label,
        "llm_slots": slots,
        "sessions": n,
        "turns": len(turns),
        "answered": sum(t.answered for t in turns),
        "refused": sum(t.refused is not None for t in turns),
        "v2v_p50_s": pct(v2v, 50),
        "v2v_p90_s": pct(v2v, 90),
        "audio_s": sum(t.audio_s for t in turns),
        "late_s": sum(t.late_s for t in turns),
        "errors": sorted({e for t in turns for e in t.errors}),
        "answers": [t.answer.strip() for t in turns],  # to read beside the latency (not scored)
        # where the first audio's time went (server side, median over the answered turns)
        "stages_p50_ms": {
            k: round(pct([t.stages[k] for t in turns if k in t.stages], 50))
            for k in STAGES
            if any(k in t.stages for t in turns)
        },
    }


async def simultaneous(url: str, qs: list[np.ndarray], n: int, timeout_s: float) -> list[Turn]:
    start = time.monotonic() + 1.0  # everyone connected first, then all speak at once
    return list(
        await asyncio.gather(*(talk(url, qs[i % len(qs)], start, timeout_s) for i in range(n)))
    )


def arrivals(n: int, gap_s: float, seed: int = 0) -> list[float]:
    """Poisson arrivals (mean gap ``gap_s``) from a second from now, as time.monotonic()."""
    rng = random.Random(seed)
    t, starts = time.monotonic() + 1.0, []
    for _ in range(n):
        starts.append(t)
        t += rng.expovariate(1.0 / gap_s)
    return starts


async def staggered(
    url: str, qs: list[np.ndarray], n: int, gap_s: float, timeout_s: float, seed: int = 0
) -> list[Turn]:
    starts = arrivals(n, gap_s, seed)
    return list(
        await asyncio.gather(*(talk(url, qs[i % len(qs)], starts[i], timeout_s) for i in range(n)))
    )


async def conversations(
    url: str, qs: list[np.ndarray], n: int, gap_s: float, timeout_s: float, seed: int = 0
) -> list[Turn]:
    """N sessions arriving as in ``staggered``, each asking 3 questions in turn."""
    starts = arrivals(n, gap_s, seed)
    talks = (
        converse(url, [qs[(i + j) % len(qs)] for j in range(TURNS)], starts[i], timeout_s)
        for i in range(n)
    )
    return [turn for session in await asyncio.gather(*talks) for turn in session]


async def flooded(url: str, q: np.ndarray, timeout_s: float) -> dict[str, Any]:
    alone = await talk(url, q, time.monotonic(), timeout_s)
    await asyncio.sleep(1.0)
    start = time.monotonic() + 0.5
    victim, codes = await asyncio.gather(talk(url, q, start, timeout_s), flood(url))
    return {
        "scenario": "flood",
        "v2v_alone_s": alone.v2v_s,
        "v2v_beside_flood_s": victim.v2v_s,
        "answered_beside_flood": victim.answered,
        "flooder_errors": {c: codes.count(c) for c in sorted(set(codes))},
    }


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def disconnects(
    url: str, srv: Any, q: np.ndarray, count: int, timeout_s: float
) -> dict[str, Any]:
    async def tasks() -> int:
        return len(asyncio.all_tasks())

    def server_tasks() -> int:
        return asyncio.run_coroutine_threadsafe(tasks(), srv.loop).result(timeout=10)

    before = (threading.active_count(), server_tasks(), _rss_mb())
    started = 0
    texts = ["What is the capital of France?", "Tell me a fun fact about cats."]
    for i in range(0, count, 8):
        batch = [abort_mid_reply(url, texts[(i + k) % 2]) for k in range(min(8, count - i))]
        started += sum(await asyncio.gather(*batch))
    for _ in range(100):  # the server notices every drop
        if srv.ctx.stats.sessions_open == 0:
            break
        await asyncio.sleep(0.1)
    after = (threading.active_count(), server_tasks(), _rss_mb())
    nxt = await talk(url, q, time.monotonic(), timeout_s)
    return {
        "scenario": "disconnects",
        "aborted_mid_reply": started,
        "of": count,
        "threads_before_after": [before[0], after[0]],
        "server_tasks_before_after": [before[1], after[1]],
        "rss_mb_before_after": [round(before[2]), round(after[2])],
        "next_v2v_s": nxt.v2v_s,
        "next_answered": nxt.answered,
    }


def _print_levels(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'scenario':<13}{'slots':>6}{'N':>3}{'answered':>10}{'refused':>8}{'v2v p50':>9}{'v2v p90':>9}{'late audio':>13}  {'eot/asr/llm/tts ms':<22}errors"
    )
    for r in rows:
        late = f"{r['late_s']:.2f}/{r['audio_s']:.0f}s"
        st = "/".join(str(r.get("stages_p50_ms", {}).get(k, "-")) for k in STAGES)
        print(
            f"{r['scenario']:<13}{r.get('llm_slots', 1):>6}{r['sessions']:>3}{r['answered']:>6}/{r.get('turns', r['sessions']):<3}{r['refused']:>8}"
            f"{r['v2v_p50_s']:8.2f}s{r['v2v_p90_s']:8.2f}s{late:>13}  {st:<22}{','.join(r['errors']) or '-'}"
        )


def main(args: argparse.Namespace) -> int:
    from antiphon.server.config import ServerConfig
    from antiphon.server.context import cascade_context
    from antiphon.server.runner import BackgroundServer

    levels = [
        int(x) for x in str(getattr(args, "levels", "") or ",".join(map(str, LEVELS))).split(",")
    ]
    levels = [n for n in levels if n <= getattr(args, "max_sessions", max(levels))] or levels
    timeout_s = float(getattr(args, "timeout", 60.0) or 60.0)
    gap_s = float(getattr(args, "gap", 3.0) or 3.0)
    count = int(getattr(args, "disconnects", 200))
    compare = [x for x in str(getattr(args, "compare_slots", "") or "").split(",") if x]
    rows: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    metrics = ""
    for k, label in enumerate(compare or [""]):
        last = k == max(0, len(compare) - 1)
        overrides: dict[str, Any] = {"max_tokens": 48}
        if label:
            overrides["llm_slots"] = int(label.rstrip("spn"))
            overrides["llm_share_cpu"] = "s" in label
            overrides["llm_protect_playing"] = "p" in label
            overrides["llm_conversation_snapshots"] = "n" not in label
        stack = load_stack(args, **overrides)
        slots = label or str(stack.config.llm_slots)
        qs = [
            resample(stack.synthesize(q, USER_VOICE), stack.tts_rate, RATE) for q in QUESTIONS[:16]
        ]
        ctx = cascade_context(stack, ServerConfig(lead_ms=150, max_sessions=max(64, *levels)))
        with BackgroundServer(ctx) as srv:
            url = srv.ws_url + "/v1/realtime?x_antiphon=1"  # with the per-stage metrics
            asyncio.run(talk(url, qs[0], time.monotonic(), timeout_s))  # the first question: warm
            for scenario in str(getattr(args, "scenarios", "") or "simultaneous,staggered").split(
                ","
            ):
                for n in levels:
                    print(
                        f"{scenario}: {n} session(s), {slots} slot(s) ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    if scenario == "simultaneous":
                        turns = asyncio.run(simultaneous(url, qs, n, timeout_s))
                    elif scenario == "conversations":
                        turns = asyncio.run(conversations(url, qs, n, gap_s, timeout_s))
                    else:
                        turns = asyncio.run(staggered(url, qs, n, gap_s, timeout_s))
                    rows.append(summary(turns, scenario, n, slots))
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # partial results
                    time.sleep(1.0)
            if last and not getattr(args, "no_flood", False):
                print("flooding client ...", file=sys.stderr, flush=True)
                extra.append(asyncio.run(flooded(url, qs[1], timeout_s)))
                print(json.dumps(extra[-1]), file=sys.stderr, flush=True)
            if last and count:
                print(f"{count} abrupt disconnects ...", file=sys.stderr, flush=True)
                extra.append(asyncio.run(disconnects(url, srv, qs[2], count, timeout_s)))
            metrics = ctx.metrics.render().decode()
        if isinstance(stack.llm, BatchedChatLLM):
            stack.llm.close()  # its engine thread; the next stack loads its own
    print(
        f"\nbench load: cascade LLM {stack.config.llm}, real time (conversations: 3 questions a session, else one)"
    )
    _print_levels(rows)
    for e in extra:
        print(json.dumps(e))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"levels": rows, "scenarios": extra, "metrics": metrics}, indent=2)
        )
    return 0
