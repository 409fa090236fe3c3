"""`antiphon respond IN.wav OUT.wav`: one spoken turn from a file."""

from __future__ import annotations

import argparse
import asyncio
import sys

import numpy as np

from antiphon.apps.factory import load_stack, new_session
from antiphon.apps.transcript import describe
from antiphon.audio.io import AudioFormatError, read_wav, write_wav
from antiphon.session.clock import VirtualClock
from antiphon.session.events import AudioChunk, ResponseDone
from antiphon.session.scripted import Utterance, run_script


def main(args: argparse.Namespace) -> int:
    try:
        audio, rate = read_wav(args.input, sample_rate=16000)
    except AudioFormatError as exc:
        print(f"antiphon respond: {exc}", file=sys.stderr)
        return 2
    if not len(audio):
        print(f"antiphon respond: {args.input} holds no audio", file=sys.stderr)
        return 2
    stack = load_stack(args)

    async def run() -> None:
        async with new_session(stack, clock=VirtualClock(), instructions=args.instructions) as s:
            rec = await run_script(
                s, [Utterance(audio, when="at", label=args.input)], sample_rate=rate
            )
        for t, ev in rec.events:
            line = describe(t, ev)
            if line:
                print(line)
        if not any(isinstance(ev, ResponseDone) for _, ev in rec.events):
            print("antiphon respond: no speech was recognised; no reply written", file=sys.stderr)
        chunks = [ev for _, ev in rec.events if isinstance(ev, AudioChunk)]
        reply = np.concatenate([c.audio for c in chunks]) if chunks else np.zeros(0, np.float32)
        write_wav(args.output, reply, s.output_rate)
        print(f"wrote {args.output}")

    asyncio.run(run())
    return 0
