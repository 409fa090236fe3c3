"""Voice-to-voice latency of the Realtime protocol over WebRTC vs WebSocket, same server,
same run, same questions (the real cascade with the default models; piper speech as the
user). Each turn prints the server's transcript of the question and the answer's words.

Run: .venv/bin/python tests/server/bench_transport_latency.py [TURNS_PER_TRANSPORT] [serve|cascade|fake] [p1] [rtcbg] [rtcbg-idle]

`serve` runs `antiphon serve` (default models) in its own process; `cascade` loads the same
models into the bench's process, where the clients' work (aiortc encodes and decodes Opus
in Python's event loop) competes with the server's for CPU time and the GIL.

With `p1` a third client takes part: WebRTC received through aiortc's own jitter buffer
with prefetch 1 (a frame is decoded when the next packet arrives, +20 ms), the client the
earlier figures were taken with.

With `rtcbg` a third kind of turn takes part: the WebSocket client's turn while a second
client holds a WebRTC call open (silence both ways, turn detection off, so its session only
buffers): the WebSocket path's latency with the WebRTC stacks of both ends (aiortc, in
Python) using the same CPUs, to tell the transport's own delay from its CPU cost on a
machine whose models use every core. With `rtcbg-idle` the silent call's client runs in
its own process under SCHED_IDLE (it gets only CPU time nothing else wants): what remains
is the server's side of the call.

With `fake` the brain is the tests' instant fake (energy VAD: 300 ms of silence ends the
turn, then a beep at once): what remains is the transports' own cost, free of the models'
time and of the machine's load on them.

Each turn is a fresh session. The client streams its microphone in real time (WebSocket:
20 ms PCM16 appends; WebRTC: the Opus track) and measures from the end of the question in
its own stream to the moment the first loud 20 ms of agent audio would be heard (WebRTC:
the first loud frame off the remote track, which arrives in real time; WebSocket: a player
that starts at the first `response.output_audio.delta` and plays in real time; the first
loud delta's own arrival is printed too: the server's pacer sends the first 150 ms at once,
so when the answer begins quietly that delta arrives before the quiet audio ahead of it has
been heard). Turns alternate between the transports.

On the cascade each response also carries the server's own figure (end of speech it
detected -> its first audio out, `x_antiphon.metrics.first_audio_out_ms`); the client's
figure minus the server's is the transport's share, which a loaded machine's slow models
leave alone, so it compares the transports even when the models' time varies by seconds."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtc_bg_call import silent_call  # noqa: E402
from rtcclient import RtcClient  # noqa: E402
from serve_process import ServeProcess  # noqa: E402
from speech import synth  # noqa: E402

from antiphon.audio.io import resample  # noqa: E402

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What color is the sky on a clear day?",
    "Name a fruit that is yellow.",
    "What is two plus two?",
    "Which planet is closest to the sun?",
    "What is the largest ocean on Earth?",
    "How many days are in a week?",
    "What do bees make?",
    "What is the opposite of hot?",
]
# the client keeps streaming silence after the question until the answer's first audio,
# up to TAIL_S (a loaded machine can take many seconds)
LEAD_S, TAIL_S, LOUD = 0.5, 30.0, 0.01
DONE_S = 30.0  # after the first audio, how long the answer may take to finish


@dataclass
class Turn:
    latency_s: float | None  # end of the question -> the first loud 20 ms heard
    heard: str = ""  # the server's transcript of the question
    answer: str = ""  # the agent's words
    server_ms: float | None = None  # the server's own end of speech -> first audio out
    stages: dict[str, Any] | None = None  # the server's whole latency breakdown
    # WebSocket only: end of the question -> arrival of the first loud delta (the figure
    # before 2026-12-06 17:30), and how much quiet audio the answer began with
    arrival_s: float | None = None
    quiet_ms: float | None = None


def _played(chunks: list[tuple[float, np.ndarray]], rate: int) -> tuple[float, float] | None:
    """(the moment the first loud 20 ms of the agent's audio is heard, the quiet audio before
    it in ms), for a player that starts at the first delta's arrival and plays in real time
    (waiting for a delta that comes late). A WebSocket client gets the pacer's first 150 ms
    at once: the first loud delta can arrive before the quiet ones ahead of it are heard."""
    play: float | None = None
    quiet = 0
    win = rate // 50
    for t, pcm in chunks:
        start = t if play is None else max(t, play)
        for i in range(0, len(pcm), win):
            if np.sqrt(np.mean(pcm[i : i + win] ** 2)) > LOUD:
                return start + i / rate, (quiet + i) * 1000 / rate
        quiet += len(pcm)
        play = start + len(pcm) / rate
    return None


def _metrics(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    for e in events:
        if e["type"] == "response.done":
            return (e["response"].get("x_antiphon") or {}).get("metrics")
    return None


def _server_ms(events: list[dict[str, Any]]) -> float | None:
    """first_audio_out_ms of the turn's response: the server's own end of speech it detected
    -> its first audio out; the client's figure minus this is the transports' share."""
    value = (_metrics(events) or {}).get("first_audio_out_ms")
    return float(value) if value is not None else None


def _texts(events: list[dict[str, Any]]) -> tuple[str, str]:
    heard = next(
        (
            e.get("transcript", "")
            for e in events
            if e["type"] == "conversation.item.input_audio_transcription.completed"
        ),
        "",
    )
    answer = "".join(
        e.get("delta", "") for e in events if e["type"] == "response.output_audio_transcript.delta"
    )
    return heard, answer


async def _until_done(events: list[dict[str, Any]], timeout: float) -> None:
    """Wait for the turn's response.done (so the answer's words can be reported)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(e["type"] == "response.done" for e in events):
        await asyncio.sleep(0.05)


async def ws_turn(base: str, speech16k: np.ndarray) -> Turn:
    speech = resample(speech16k, 16000, 24000)
    signal = np.concatenate(
        [np.zeros(int(24000 * LEAD_S)), speech, np.zeros(int(24000 * TAIL_S))]
    ).astype(np.float32)
    first: list[float] = []
    events: list[dict[str, Any]] = []
    chunks: list[tuple[float, np.ndarray]] = []  # (arrival, PCM) of each audio delta
    async with websockets.connect(base.replace("http", "ws") + "/v1/realtime", max_size=None) as ws:

        async def reader() -> None:
            async for msg in ws:
                ev = json.loads(msg)
                events.append(ev)
                if ev["type"] == "response.output_audio.delta":
                    pcm = np.frombuffer(base64.b64decode(ev["delta"]), "<i2") / 32768.0
                    chunks.append((time.monotonic(), pcm))
                    if not first and len(pcm) and np.sqrt(np.mean(pcm**2)) > LOUD:
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
        if first:
            await _until_done(events, DONE_S)
        task.cancel()
    end = t0 + LEAD_S + len(speech) / 24000
    played = _played(chunks, 24000) if first else None
    return Turn(
        played[0] - end if played else None,
        *_texts(events),
        _server_ms(events),
        _metrics(events),
        first[0] - end if first else None,
        played[1] if played else None,
    )


async def rtc_turn(base: str, speech16k: np.ndarray, prefetch: int | None = None) -> Turn:
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
                    await _until_done(c.events, DONE_S)
                    return Turn(
                        t - end, *_texts(c.events), _server_ms(c.events), _metrics(c.events)
                    )
        return Turn(None, *_texts(c.events))
    finally:
        await c.close()


async def ws_turn_beside_rtc(base: str, speech16k: np.ndarray, idle: bool = False) -> Turn:
    """A WebSocket turn while another client holds a silent WebRTC call open: in this
    process, or (idle) in its own process under SCHED_IDLE, where it takes no CPU time the
    server's work wants: what remains is the server's side of the call."""
    if not idle:
        async with silent_call(base):
            return await ws_turn(base, speech16k)
    proc = await asyncio.create_subprocess_exec(
        "chrt",
        "-i",
        "0",
        sys.executable,
        str(Path(__file__).parent / "rtc_bg_call.py"),
        base,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line.startswith(b"connected"):
            raise RuntimeError("the idle-priority WebRTC call did not connect")
        await asyncio.sleep(1.0)
        return await ws_turn(base, speech16k)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        await proc.wait()


def _p90(vals: list[float]) -> float:
    return statistics.quantiles(vals, n=10, method="inclusive")[8] if len(vals) > 1 else vals[0]


async def main(turns: int, brain: str, p1: bool = False, bg: tuple[str, ...] = ()) -> None:
    from antiphon.server.config import ServerConfig
    from antiphon.server.runner import BackgroundServer

    if brain == "fake":
        from fake_brain import fake_context
        from wsclient import speechlike

        server: Any = BackgroundServer(fake_context(lead_ms=150))
    elif brain == "serve":  # `antiphon serve` in its own process, default models
        from antiphon.server.webrtc_channel import set_host_addresses

        # the server offers loopback candidates only; aioice leaves loopback out of this
        # client's own unless told (in one process the server's setting covered both)
        set_host_addresses(("127.0.0.1",))
        server = ServeProcess()
    else:  # the default models in this process (the clients share its CPU time and GIL)
        from antiphon.cascade.config import CascadeConfig
        from antiphon.cascade.stack import CascadeStack
        from antiphon.server.context import cascade_context

        cfg = CascadeConfig()
        print(f"cascade: {cfg}", flush=True)
        server = BackgroundServer(cascade_context(CascadeStack(cfg), ServerConfig()))
    results: dict[str, list[float]] = {"websocket": [], "webrtc": []}
    if p1:
        results["webrtc-p1"] = []
    for kind in bg:
        results["ws+" + kind] = []
    missed: dict[str, int] = dict.fromkeys(results, 0)
    overhead: dict[str, list[float]] = {k: [] for k in results}  # client - server, ms
    loads: list[float] = []
    arrival: list[float] = []  # WebSocket: the first loud delta's arrival, ms
    quiet: list[float] = []  # WebSocket: quiet audio ahead of the answer's first loud 20 ms
    with server as srv:
        await ws_turn(srv.url, synth("Hello there."))  # warm-up, not counted
        for i in range(turns):
            question = QUESTIONS[i % len(QUESTIONS)]
            speech = speechlike(0.6, 16000, seed=i) if brain == "fake" else synth(question)
            kinds = list(results)
            order = kinds[i % len(kinds) :] + kinds[: i % len(kinds)]  # rotate who goes first
            for kind in order:
                if kind == "websocket":
                    turn = await ws_turn(srv.url, speech)
                elif kind.startswith("ws+"):
                    turn = await ws_turn_beside_rtc(srv.url, speech, kind == "ws+rtcbg-idle")
                else:
                    turn = await rtc_turn(srv.url, speech, 1 if kind == "webrtc-p1" else None)
                v = turn.latency_s
                load = os.getloadavg()[0]
                loads.append(load)
                srv_ms = turn.server_ms
                extra = ""
                if turn.arrival_s is not None and turn.quiet_ms is not None:
                    if kind == "websocket":
                        arrival.append(turn.arrival_s * 1000)
                        quiet.append(turn.quiet_ms)
                    extra = (
                        f", first loud delta arrived {turn.arrival_s * 1000:.0f} ms,"
                        f" {turn.quiet_ms:.0f} ms quiet first"
                    )
                print(
                    f"{kind:9s} {question!r}: {v if v is None else round(v * 1000)} ms"
                    f" (server {srv_ms if srv_ms is None else round(srv_ms)} ms, load {load:.2f}"
                    f"{extra})"
                    f" heard {turn.heard!r} answer {turn.answer!r} stages {turn.stages}",
                    flush=True,
                )
                if v is None:
                    missed[kind] += 1
                else:
                    results[kind].append(v * 1000)
                    if srv_ms is not None:
                        overhead[kind].append(v * 1000 - srv_ms)
    print(f"load average (1 min) over the run: {min(loads):.2f}-{max(loads):.2f}")
    for kind, vals in results.items():
        if vals:
            print(
                f"{kind:9s} voice-to-voice p50 {statistics.median(vals):.0f} ms "
                f"p90 {_p90(vals):.0f} ms (min {min(vals):.0f}, max {max(vals):.0f}, "
                f"n={len(vals)}, no answer {missed[kind]})"
            )
    if arrival:
        print(
            f"websocket first loud delta's arrival (the figure before 2026-12-06 17:30) p50 "
            f"{statistics.median(arrival):.0f} ms p90 {_p90(arrival):.0f} ms; quiet audio ahead"
            f" of the answer's first loud 20 ms p50 {statistics.median(quiet):.0f} ms"
            f" (max {max(quiet):.0f})"
        )
    for kind, vals in overhead.items():
        if vals:
            print(
                f"{kind:9s} client - server (the transport's share) p50 "
                f"{statistics.median(vals):.0f} ms p90 {_p90(vals):.0f} ms (n={len(vals)})"
            )


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 6,
            sys.argv[2] if len(sys.argv) > 2 else "cascade",
            "p1" in sys.argv[3:],
            tuple(a for a in sys.argv[3:] if a in ("rtcbg", "rtcbg-idle")),
        )
    )
