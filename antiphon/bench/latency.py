"""`antiphon bench latency`: voice-to-voice latency of the cascade, paced in real time.

Each question is synthesized, played into one session in real time (20 ms frames), and
the latency is read on the audio timeline: from the end of the user's voiced speech to
the first agent audio frame released. The brain's own per-stage marks (relative to its
VAD's estimate of the end of speech) give the breakdown."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
from pathlib import Path

import numpy as np

from antiphon.apps.factory import load_stack, new_session
from antiphon.bench.duplex.texts import QUESTIONS as DUPLEX_QUESTIONS
from antiphon.bench.quality.voices import EN_VOICES, assign, spoken
from antiphon.session.clock import RealClock
from antiphon.session.events import Metrics, ResponseDone, UserTranscriptFinal
from antiphon.session.scripted import Recording, Utterance, run_script

# the first 24 questions of the duplex set: one list, so both benches ask the same things
QUESTIONS = DUPLEX_QUESTIONS[:24]
STAGES = ["eot_ms", "asr_final_ms", "llm_first_token_ms", "tts_first_audio_ms"]
PEER = "pipecat 1.14, same models, same kind of machine: ~1.8 s median (issue #2, for scale)"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def analyse(rec: Recording) -> dict[str, object]:
    turns = []
    for p in rec.played:
        first = rec.first_audio_after(p.speech_end_s)
        metrics = next(
            (ev.values for t, ev in rec.events if isinstance(ev, Metrics) and t >= p.start_s), {}
        )
        heard = next(
            (
                ev.text
                for t, ev in rec.events
                if isinstance(ev, UserTranscriptFinal) and t >= p.start_s
            ),
            "",
        )
        said = next(
            (ev.text for t, ev in rec.events if isinstance(ev, ResponseDone) and t >= p.start_s), ""
        )
        turns.append(
            {
                "question": p.label,
                "recognised": heard,
                "answer": said,
                "voice_to_voice_ms": None if first is None else (first - p.speech_end_s) * 1000,
                **{k: metrics.get(k) for k in STAGES},
            }
        )
    v2v = [float(t["voice_to_voice_ms"]) for t in turns if t["voice_to_voice_ms"] is not None]
    summary: dict[str, object] = {
        "turns": len(turns),
        "answered": len(v2v),
        "voice_to_voice_ms": {
            "p50": pct(v2v, 50),
            "p90": pct(v2v, 90),
            "max": max(v2v, default=float("nan")),
        },
    }
    for k in STAGES:
        vals = [float(t[k]) for t in turns if t.get(k) is not None]  # type: ignore[arg-type]
        summary[k] = {"p50": pct(vals, 50), "p90": pct(vals, 90)}
    return {"summary": summary, "turns": turns}


def main(args: argparse.Namespace) -> int:
    stack = load_stack(args, max_tokens=48)
    qs = (QUESTIONS * 2)[: args.questions]
    # the user never speaks with the agent's own voice (piper joe): it would flatter the
    # recogniser; the voices of `bench quality` take turns
    voices = assign(len(qs), EN_VOICES)
    script = [
        Utterance(spoken(q, v), gap_s=1.0, label=f"{q} [{v}]")
        for q, v in zip(qs, voices, strict=True)
    ]

    async def run() -> Recording:
        async with new_session(stack, clock=RealClock()) as session:
            return await run_script(session, script, max_s=60.0 * len(qs))

    print(f"playing {len(qs)} questions in real time ...", file=sys.stderr)
    result = analyse(asyncio.run(run()))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["summary"]["peak_rss_mb"] = rss_mb  # type: ignore[index]
    print_report(result, stack.config.llm)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def print_report(result: dict[str, object], llm: str) -> None:
    s: dict = result["summary"]  # type: ignore[assignment]
    print(f"\nvoice-to-voice latency, {s['answered']}/{s['turns']} questions answered, LLM {llm}")
    print(f"{'':28}{'p50':>8}{'p90':>8}{'max':>8}")
    v = s["voice_to_voice_ms"]
    print(f"{'end of speech → first audio':28}{v['p50']:8.0f}{v['p90']:8.0f}{v['max']:8.0f}  ms")
    print("stages (after the VAD's end of speech):")
    for k in STAGES:
        print(f"  {k.removesuffix('_ms'):26}{s[k]['p50']:8.0f}{s[k]['p90']:8.0f}          ms")
    print(f"peak RSS {s['peak_rss_mb']:.0f} MB")
    print(f"peer: {PEER}")
    for t in result["turns"]:  # type: ignore[attr-defined]
        ms = t["voice_to_voice_ms"]
        print(
            f"  {(f'{ms:5.0f} ms') if ms is not None else '   none'}  {t['recognised'][:40]!r:44} → {t['answer'][:50]!r}"
        )
