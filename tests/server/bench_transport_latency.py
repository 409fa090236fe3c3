"""Voice-to-voice latency of the Realtime protocol over WebRTC vs WebSocket, same server,
same run, same questions (the real cascade; piper speech as the user).

Run: .venv/bin/python tests/server/bench_transport_latency.py [TURNS_PER_TRANSPORT] [cascade|fake] [p1]

With `p1` a third client takes part: WebRTC received through aiortc's own jitter buffer
with prefetch 1 (a frame is decoded when the next packet arrives, +20 ms), the client the
earlier figures were taken with.

With `fake` the brain is the tests' instant fake (energy VAD: 300 ms of silence ends the
turn, then a beep at once): what remains is the transports' own cost, free of the models'
time and of the machine's load on them.

Each turn is a fresh session. The client streams its microphone in real time (WebSocket:
20 ms PCM16 appends; WebRTC: the Opus track) and measures from the end of the question in
its own stream to the first audible agent audio it receives (WebSocket: the first loud
`response.output_audio.delta`; WebRTC: the first loud frame off the remote track, after
aiortc's jitter buffer). Turns alternate between the transports."""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtcclient import RtcClient  # noqa: E402
from speech import synth  # noqa: E402

from antiphon.audio.io import resample  # noqa: E402

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What color is the sky on a clear day?",
    "Name a fruit that is yellow.",
    "What is two plus two?",
    "Which planet is closest to the sun?",
]
LEAD_S, TAIL_S, LOUD = 0.5, 6.0, 0.01


async def ws_turn(base: str, speech16k: np.ndarray) -> float | None:
    speech = resample(speech16k, 16000, 24000)
    signal = np.concatenate(
        [np.zeros(int(24000 * LEAD_S)), speech, np.zeros(int(24000 * TAIL_S))]
    ).astype(np.float32)
    first: list[float] = []
    async with websockets.connect(base.replace("http", "ws") + "/v1/realtime", max_size=None) as ws:

        async def reader() -> None:
            async for msg in ws:
                ev = json.loads(msg)
                if ev["type"] == "response.output_audio.delta" and not first:
                    pcm = np.frombuffer(base64.b64decode(ev["delta"]), "<i2") / 32768.0
                    if len(pcm) and np.sqrt(np.mean(pcm**2)) > LOUD:
                        first.append(time.monotonic())

        task = asyncio.create_task(reader())
        t0 = time.monotonic()
        for i in range(0, len(signal), 480):
            wait = t0 + i / 24000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            pcm = (np.clip(signal[i : i + 480], -1, 1) * 32767).astype("<i2").tobytes()
            await ws.send(
                json.dumps(
                    {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}
                )
            )
            if first:
                break
        task.cancel()
    end = t0 + LEAD_S + len(speech) / 24000
    return first[0] - end if first else None


async def rtc_turn(base: str, speech16k: np.ndarray, prefetch: int | None = None) -> float | None:
    speech = resample(speech16k, 16000, 48000)
    signal = np.concatenate(
        [np.zeros(int(48000 * LEAD_S)), speech, np.zeros(int(48000 * TAIL_S))]
    ).astype(np.float32)
    c = RtcClient(base, signal, low_latency=prefetch is None, prefetch=prefetch)
    try:
        await c.connect()
        deadline = time.monotonic() + LEAD_S + len(speech) / 48000 + TAIL_S + 5
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if c.mic.started_at is None:
                continue
            end = c.mic.started_at + LEAD_S + len(speech) / 48000
            for frame, t in zip(c.heard, c.heard_times, strict=False):
                if t > end and np.sqrt(np.mean(frame**2)) > LOUD:
                    return t - end
        return None
    finally:
        await c.close()


async def main(turns: int, brain: str, p1: bool = False) -> None:
    from antiphon.server.config import ServerConfig
    from antiphon.server.runner import BackgroundServer

    if brain == "fake":
        from fake_brain import fake_context
        from wsclient import speechlike

        ctx = fake_context(lead_ms=150)
    else:
        from antiphon.cascade.config import CascadeConfig
        from antiphon.cascade.stack import CascadeStack
        from antiphon.server.context import cascade_context

        ctx = cascade_context(CascadeStack(CascadeConfig(max_tokens=60)), ServerConfig(lead_ms=150))
    results: dict[str, list[float]] = {"websocket": [], "webrtc": []}
    if p1:
        results["webrtc-p1"] = []
    with BackgroundServer(ctx) as srv:
        await ws_turn(srv.url, synth("Hello there."))  # warm-up, not counted
        for i in range(turns):
            speech = (
                speechlike(0.6, 16000, seed=i)
                if brain == "fake"
                else synth(QUESTIONS[i % len(QUESTIONS)])
            )
            kinds = list(results)
            order = kinds[i % len(kinds) :] + kinds[: i % len(kinds)]  # rotate who goes first
            for kind in order:
                if kind == "websocket":
                    v = await ws_turn(srv.url, speech)
                else:
                    v = await rtc_turn(srv.url, speech, 1 if kind == "webrtc-p1" else None)
                print(
                    f"{kind:9s} {QUESTIONS[i % len(QUESTIONS)]!r}: {v if v is None else round(v * 1000)} ms",
                    flush=True,
                )
                if v is not None:
                    results[kind].append(v * 1000)
    for kind, vals in results.items():
        if vals:
            print(
                f"{kind:9s} voice-to-voice p50 {statistics.median(vals):.0f} ms "
                f"(min {min(vals):.0f}, max {max(vals):.0f}, n={len(vals)})"
            )


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 6,
            sys.argv[2] if len(sys.argv) > 2 else "cascade",
            "p1" in sys.argv[3:],
        )
    )
