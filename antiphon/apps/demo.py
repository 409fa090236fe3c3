"""`antiphon demo`: a headless spoken conversation, several turns including a tool call
and a barge-in, printed with per-turn latency; the audio is written to WAV files."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import numpy as np
import soundfile as sf

from antiphon.apps.factory import load_stack, new_session
from antiphon.apps.transcript import describe
from antiphon.audio.io import resample, write_wav
from antiphon.cascade.stack import CascadeStack
from antiphon.session.clock import RealClock, VirtualClock
from antiphon.session.commands import Configure, SpeakingStyle
from antiphon.session.events import Event
from antiphon.session.scripted import Recording, Utterance, run_script

# The "user" speaks with the same piper voice: shifting its pitch made Whisper tiny.en
# mishear it ("lights" → "whites"), and the transcript shows who is who anyway.
USER_VOICE = SpeakingStyle()

SCRIPT_EN: list[tuple[str, str, float]] = [
    ("What is the capital of France?", "after_agent", 0.0),
    # a long answer for the barge-in to cut. Not the dragon story: Whisper base hears "Tell
    # me *the* long story ...", and the 1.5B model with tools declared answers that with
    # "I'm sorry, but I can't assist with that." (2026-12-06)
    ("Tell me all about the history of Rome.", "after_agent", 0.0),
    ("Wait, stop. What time is it now?", "agent_speaking", 2.5),
    ("Please turn on the lights in the kitchen.", "after_agent", 0.0),
    ("Please speak slower.", "after_agent", 0.0),
    ("Thank you, that is all.", "after_agent", 0.0),
]
SCRIPT_ZH: list[tuple[str, str, float]] = [
    ("法国的首都是哪里？", "after_agent", 0.0),
    ("请说慢一点。", "after_agent", 0.0),
    ("谢谢你。", "after_agent", 0.0),
]


def user_utterances(stack: CascadeStack, lines: list[tuple[str, str, float]]) -> list[Utterance]:
    out = []
    for text, when, start in lines:
        audio = resample(stack.synthesize(text, USER_VOICE), stack.tts_rate, 16000)
        out.append(Utterance(audio, when=when, start_s=start, label=text))  # type: ignore[arg-type]
    return out


async def converse(
    stack: CascadeStack,
    lines: list[tuple[str, str, float]],
    realtime: bool,
    echo_cancel: bool = True,
) -> Recording:
    clock = RealClock() if realtime else VirtualClock()

    def show(t: float, ev: Event) -> None:
        line = describe(t, ev)
        if line:
            print(line, flush=True)

    async with new_session(stack, clock=clock, echo_cancel=echo_cancel) as session:
        # the demo shows the built-in tools, whatever the stack's default policy (an
        # operator's "off" still wins)
        await session.send(Configure(demo_tools=True))
        return await run_script(session, user_utterances(stack, lines), on_event=show)


def latency_lines(rec: Recording) -> list[str]:
    lines = []
    for p in rec.played:
        first = rec.first_audio_after(p.speech_end_s)
        got = f"{(first - p.speech_end_s) * 1000:.0f} ms" if first is not None else "no reply"
        lines.append(f"  {p.label[:48]:<48} voice-to-voice {got}")
    return lines


def main(args: argparse.Namespace) -> int:
    stack = load_stack(args)
    lines = SCRIPT_ZH if args.language == "zh" else SCRIPT_EN
    mode = "virtual time: compute is free, latencies are not real" if args.fast else "real time"
    print(f"--- conversation ({mode}) ---")
    rec = asyncio.run(converse(stack, lines, realtime=not args.fast))
    print("--- per-turn latency (end of user speech → first agent audio) ---")
    print("\n".join(latency_lines(rec)))
    out = Path(args.out)
    write_wav(out / "agent.wav", rec.agent, rec.sample_rate)
    n = min(len(rec.user), len(rec.agent))
    sf.write(
        str(out / "conversation.wav"),
        np.stack([rec.user[:n], rec.agent[:n]], axis=1),
        rec.sample_rate,
    )
    print(f"wrote {out / 'agent.wav'} and {out / 'conversation.wav'} (left: user, right: agent)")
    return 0
