"""`antiphon connect URL`: a Realtime-protocol client for any compatible server.

With --input/--output it speaks a WAV file (paced in real time) and writes the spoken
reply; otherwise it talks through the microphone and speaker until Ctrl+C. It prints both
sides' transcripts and the voice-to-voice latency of each turn."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import queue
import sys
import time
from typing import Any

import numpy as np

from antiphon.audio.io import AudioFormatError, float_to_pcm16, pcm16_to_float, read_wav, write_wav

RATE = 24000
CHUNK = 960  # 40 ms


def _session(args: argparse.Namespace) -> dict[str, Any]:
    s: dict[str, Any] = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": RATE},
                "turn_detection": {"type": "semantic_vad"},
                "transcription": {"model": "whisper-1"},
            },
            "output": {"format": {"type": "audio/pcm", "rate": RATE}},
        },
    }
    if args.instructions:
        s["instructions"] = args.instructions
    return s


class Printer:
    """Transcripts and latency on the terminal; the reply's audio collected or played."""

    def __init__(self, play: queue.Queue[np.ndarray | None] | None = None) -> None:
        self.play = play
        self.reply: list[np.ndarray] = []
        self.speech_end: float | None = None
        self.done = 0
        self.audio_started: set[str] = set()

    def on(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "input_audio_buffer.speech_started" and self.play is not None:
            while not self.play.empty():  # barge-in: stop our own playback at once
                self.play.get_nowait()
        elif kind == "input_audio_buffer.speech_stopped":
            self.speech_end = self.speech_end or time.monotonic()
        elif kind == "conversation.item.input_audio_transcription.completed":
            print(f"you:      {ev.get('transcript', '')}", flush=True)
        elif kind == "response.output_audio.delta":
            rid = ev.get("response_id", "")
            if rid not in self.audio_started:
                self.audio_started.add(rid)
                if self.speech_end is not None:
                    print(
                        f"          (first audio {1000 * (time.monotonic() - self.speech_end):.0f} ms after your speech ended)",
                        flush=True,
                    )
                    self.speech_end = None
            audio = pcm16_to_float(base64.b64decode(ev["delta"]))
            self.reply.append(audio)
            if self.play is not None:
                self.play.put(audio)
        elif kind == "response.output_audio_transcript.done":
            print(f"antiphon: {ev.get('transcript', '')}", flush=True)
        elif kind == "response.done":
            self.done += 1
            status = ev["response"].get("status")
            if status != "completed":
                print(
                    f"          (response {status}: {(ev['response'].get('status_details') or {}).get('reason')})",
                    flush=True,
                )
        elif kind == "error":
            print(
                f"error:    {ev['error'].get('code')}: {ev['error'].get('message')}",
                file=sys.stderr,
                flush=True,
            )


async def _connect(args: argparse.Namespace) -> Any:
    import websockets

    key = args.api_key or os.environ.get("OPENAI_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await websockets.connect(
        args.url, additional_headers=headers, max_size=None, open_timeout=10
    )


async def _append(ws: Any, audio: np.ndarray) -> None:
    await ws.send(
        json.dumps(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(float_to_pcm16(audio)).decode(),
            }
        )
    )


async def run_file(args: argparse.Namespace) -> int:
    try:
        audio, _ = read_wav(args.input, sample_rate=RATE)
    except AudioFormatError as exc:
        print(f"antiphon connect: {exc}", file=sys.stderr)
        return 2
    printer = Printer()
    ws = await _connect(args)
    async with ws:
        await ws.send(json.dumps({"type": "session.update", "session": _session(args)}))
        stream = np.concatenate(
            [np.zeros(RATE // 5, np.float32), audio, np.zeros(RATE * 3, np.float32)]
        )

        async def talk() -> None:
            t0 = time.monotonic()
            for i in range(0, len(stream), CHUNK):
                await _append(ws, stream[i : i + CHUNK])
                await asyncio.sleep(max(0.0, t0 + (i + CHUNK) / RATE - time.monotonic()))

        sender = asyncio.create_task(talk())
        try:
            async with asyncio.timeout(args.timeout):
                async for raw in ws:
                    printer.on(json.loads(raw))
                    if printer.done and printer.reply:
                        break
        except TimeoutError:
            print(f"antiphon connect: no spoken reply within {args.timeout:.0f} s", file=sys.stderr)
        finally:
            sender.cancel()
    if not printer.reply:
        return 1
    if args.output:
        write_wav(args.output, np.concatenate(printer.reply), RATE)
        print(f"wrote {args.output}")
    return 0


async def run_live(args: argparse.Namespace) -> int:
    import sounddevice as sd

    loop = asyncio.get_running_loop()
    mic: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=50)
    play: queue.Queue[np.ndarray | None] = queue.Queue()
    printer = Printer(play)
    pending = np.zeros(0, np.float32)

    def enqueue(block: np.ndarray) -> None:
        if not mic.full():  # a stalled network drops microphone blocks, never blocks audio
            mic.put_nowait(block)

    def on_mic(indata: np.ndarray, *_: object) -> None:
        loop.call_soon_threadsafe(enqueue, indata[:, 0].copy())

    def on_speaker(outdata: np.ndarray, frames: int, *_: object) -> None:
        nonlocal pending
        while len(pending) < frames and not play.empty():
            chunk = play.get_nowait()
            if chunk is not None:
                pending = np.concatenate([pending, chunk])
        n = min(frames, len(pending))
        outdata[:n, 0], outdata[n:, 0] = pending[:n], 0.0
        pending = pending[n:]

    ws = await _connect(args)
    async with ws:
        await ws.send(json.dumps({"type": "session.update", "session": _session(args)}))
        print("talking to", args.url, "— speak; Ctrl+C to stop", flush=True)
        with (
            sd.InputStream(RATE, blocksize=CHUNK, channels=1, dtype="float32", callback=on_mic),
            sd.OutputStream(
                RATE, blocksize=CHUNK // 2, channels=1, dtype="float32", callback=on_speaker
            ),
        ):

            async def talk() -> None:
                while True:
                    await _append(ws, await mic.get())

            sender = asyncio.create_task(talk())
            try:
                async for raw in ws:
                    printer.on(json.loads(raw))
            finally:
                sender.cancel()
    return 0


def main(args: argparse.Namespace) -> int:
    if args.output and not args.input:
        print("antiphon connect: --output needs --input (a WAV file to speak)", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run_file(args) if args.input else run_live(args))
    except OSError as exc:
        print(f"antiphon connect: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # websockets' handshake errors (401, 404, …)
        print(f"antiphon connect: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
