"""`antiphon chat`: live conversation through the microphone and speaker (sounddevice)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

import numpy as np

from antiphon.apps.factory import load_stack, new_session
from antiphon.apps.transcript import describe
from antiphon.session.commands import AppendAudio
from antiphon.session.events import AudioChunk

RATE = 16000
BLOCK = 320  # 20 ms


def _devices_or_reason() -> str | None:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio missing
        return f"audio library unavailable ({exc}); install Debian's libportaudio2"
    try:
        sd.check_input_settings(samplerate=RATE, channels=1)
        sd.check_output_settings(samplerate=24000, channels=1)
    except Exception as exc:
        return f"no usable microphone/speaker ({exc})"
    return None


def main(args: argparse.Namespace) -> int:
    reason = _devices_or_reason()
    if reason:
        print(
            f"antiphon chat: {reason}.\n  Try `antiphon demo` (no audio devices needed) or "
            "`antiphon serve` and talk through the browser.",
            file=sys.stderr,
        )
        return 2
    import sounddevice as sd

    stack = load_stack(args)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        mic: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=100)

        def on_mic(indata: np.ndarray, frames: int, t: object, status: object) -> None:
            loop.call_soon_threadsafe(mic.put_nowait, indata[:, 0].copy())

        async with new_session(stack, instructions=args.instructions) as session:
            speaker = sd.OutputStream(samplerate=24000, channels=1, dtype="float32")
            speaker.start()
            with sd.InputStream(samplerate=RATE, channels=1, blocksize=BLOCK, callback=on_mic):
                print("Listening. Speak; Ctrl+C to quit.", file=sys.stderr)

                async def play() -> None:
                    async for ev in session.events():
                        if isinstance(ev, AudioChunk):
                            await asyncio.to_thread(speaker.write, ev.audio.reshape(-1, 1))
                        elif line := describe(session.clock.now(), ev):
                            print(line, flush=True)

                player = asyncio.create_task(play())
                try:
                    while True:
                        await session.send(AppendAudio(await mic.get(), RATE))
                finally:
                    player.cancel()
                    speaker.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
