"""`antiphon bench load`: how many concurrent real-time sessions one machine sustains.

A live server (the default cascade, models loaded once) runs on loopback. For N = 1, 2, …
N Realtime clients speak questions at the same time, in real time, each waiting for its
answer before the next question. A client plays each answer through a 100 ms jitter
buffer; audio that arrives after its playout time is "late" (the listener hears a gap).
A level is sustained when every turn is answered, late audio stays under 2 % of the audio
played, and the median voice-to-voice latency stays under 3 s."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antiphon.apps.demo import USER_VOICE
from antiphon.apps.factory import load_stack
from antiphon.audio.io import float_to_pcm16, resample
from antiphon.bench.latency import QUESTIONS, pct
from antiphon.session.scripted import voiced_end

RATE, CHUNK, JITTER_S = 24000, 960, 0.1
LATE_FRACTION, MAX_P50_S = 0.02, 3.0


@dataclass
class Turn:
    v2v_s: float | None = None
    audio_s: float = 0.0
    late_s: float = 0.0
    answer: str = ""


@dataclass
class Level:
    sessions: int
    turns: list[Turn] = field(default_factory=list)
    dropped: int = 0

    def summary(self, expected: int) -> dict[str, Any]:
        v2v = [t.v2v_s for t in self.turns if t.v2v_s is not None]
        audio = sum(t.audio_s for t in self.turns)
        late = sum(t.late_s for t in self.turns)
        p50 = pct(v2v, 50)
        ok = len(v2v) == expected and late <= LATE_FRACTION * max(audio, 1e-9) and p50 < MAX_P50_S
        return {
            "sessions": self.sessions,
            "answered": len(v2v),
            "turns": expected,
            "v2v_p50_s": p50,
            "v2v_p90_s": pct(v2v, 90),
            "audio_s": audio,
            "late_s": late,
            "dropped_audio_msgs": self.dropped,
            "sustained": ok,
        }


async def client(url: str, questions: list[np.ndarray], timeout_s: float) -> list[Turn]:
    import websockets

    turns: list[Turn] = []
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "output_modalities": ["audio"]},
                }
            )
        )
        for q in questions:
            turn = Turn()
            stream = np.concatenate(
                [np.zeros(RATE // 5, np.float32), q, np.zeros(RATE * 2, np.float32)]
            )
            t0 = time.monotonic()
            speech_end = t0 + (RATE // 5) / RATE + voiced_end(q, RATE)

            async def talk(stream: np.ndarray = stream, t0: float = t0) -> None:
                for i in range(0, len(stream), CHUNK):
                    b64 = base64.b64encode(float_to_pcm16(stream[i : i + CHUNK])).decode()
                    await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": b64}))
                    await asyncio.sleep(max(0.0, t0 + (i + CHUNK) / RATE - time.monotonic()))

            sender = asyncio.create_task(talk())
            play_start: float | None = None
            try:
                async with asyncio.timeout(timeout_s):
                    async for raw in ws:
                        ev = json.loads(raw)
                        kind = ev["type"]
                        if kind == "response.output_audio.delta":
                            now = time.monotonic()
                            if play_start is None:
                                play_start = now + JITTER_S
                                turn.v2v_s = now - speech_end
                            due = play_start + turn.audio_s  # when this chunk must start playing
                            if now > due:  # the listener hears a gap; playout resumes after it
                                turn.late_s += now - due
                                play_start += now - due
                            turn.audio_s += len(base64.b64decode(ev["delta"])) / 2 / RATE
                        elif kind == "response.output_audio_transcript.delta":
                            turn.answer += ev["delta"]
                        elif kind == "response.done" and turn.audio_s > 0:
                            break
            except TimeoutError:
                pass
            await sender
            turns.append(turn)
            await asyncio.sleep(0.5)
    return turns


async def run_level(url: str, n: int, questions: list[np.ndarray], turns: int, stats: Any) -> Level:
    before = stats.dropped_audio_messages
    sets = [[questions[(i * turns + k) % len(questions)] for k in range(turns)] for i in range(n)]
    results = await asyncio.gather(*(client(url, s, timeout_s=30.0) for s in sets))
    await asyncio.sleep(1.0)
    return Level(n, [t for r in results for t in r], stats.dropped_audio_messages - before)


def main(args: argparse.Namespace) -> int:
    from antiphon.server.config import ServerConfig
    from antiphon.server.context import cascade_context
    from antiphon.server.runner import BackgroundServer

    stack = load_stack(args, max_tokens=48)
    qs = [resample(stack.synthesize(q, USER_VOICE), stack.tts_rate, RATE) for q in QUESTIONS[:12]]
    ctx = cascade_context(stack, ServerConfig(lead_ms=150, max_sessions=max(64, args.max_sessions)))
    rows: list[dict[str, Any]] = []
    with BackgroundServer(ctx) as srv:
        url = srv.ws_url + "/v1/realtime"
        for n in range(1, args.max_sessions + 1):
            print(
                f"{n} concurrent session(s), {args.turns} spoken turns each ...",
                file=sys.stderr,
                flush=True,
            )
            row = asyncio.run(run_level(url, n, qs, args.turns, ctx.stats)).summary(n * args.turns)
            rows.append(row)
            if not row["sustained"]:
                break
    best = max((r["sessions"] for r in rows if r["sustained"]), default=0)
    print(
        f"\nconcurrent real-time sessions, cascade LLM {stack.config.llm}, {args.turns} turns each"
    )
    print(
        f"{'sessions':>8}{'answered':>10}{'v2v p50':>9}{'v2v p90':>9}{'late audio':>12}{'dropped':>9}  sustained"
    )
    for r in rows:
        late = f"{r['late_s']:.2f}/{r['audio_s']:.0f}s"
        print(
            f"{r['sessions']:8d}{r['answered']:>6}/{r['turns']:<3}{r['v2v_p50_s']:8.2f}s{r['v2v_p90_s']:8.2f}s"
            f"{late:>12}{r['dropped_audio_msgs']:9d}  {'yes' if r['sustained'] else 'no'}"
        )
    print(
        f"sustained: {best} concurrent session(s) before audio falls behind "
        f"(late audio > {LATE_FRACTION:.0%}, a missed answer, or median latency > {MAX_P50_S:.0f} s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"sustained": best, "levels": rows}, indent=2))
    return 0
