"""The human recordings' transcripts from a Realtime server (`bench quality --url`), so the
human-voice WER target is measured through the server as the synthetic voices are.

One connection with server turn detection off: each recording is appended at real-time
pace (servers refuse audio far ahead of real time), committed, and its
``conversation.item.input_audio_transcription.completed`` awaited. A manual commit with
no ``response.create`` makes no response (the Realtime API's rule), so only the final
decode runs, on exactly the recording's audio."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from antiphon.audio.io import float_to_pcm16, resample
from antiphon.bench.duplex.link import LinkError
from antiphon.bench.duplex.link_realtime import WIRE_RATE, connect
from antiphon.bench.quality.human import RATE, Recording

CHUNK_S = 0.1
LEAD_S = 0.5  # sent ahead of real time; servers allow more (antiphon: 2 s)
TRANSCRIPT_TIMEOUT_S = 60.0


async def _events(ws: Any, inbox: asyncio.Queue[dict[str, Any]]) -> None:
    import websockets

    try:
        async for raw in ws:
            await inbox.put(json.loads(raw))
    except websockets.ConnectionClosed as exc:
        await inbox.put({"type": "x.closed", "code": exc.code})


async def _await_transcript(inbox: asyncio.Queue[dict[str, Any]], url: str) -> str:
    """The transcript of the item the last commit created (errors raise LinkError)."""
    item_id: str | None = None
    deadline = time.monotonic() + TRANSCRIPT_TIMEOUT_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LinkError(f"{url} sent no transcript within {TRANSCRIPT_TIMEOUT_S:.0f} s")
        ev = await asyncio.wait_for(inbox.get(), left)
        kind = ev.get("type", "")
        if kind == "input_audio_buffer.committed":
            item_id = str(ev.get("item_id", ""))
        elif kind == "conversation.item.input_audio_transcription.completed":
            if item_id is None or ev.get("item_id") == item_id:
                return str(ev.get("transcript", ""))
        elif kind == "conversation.item.input_audio_transcription.failed":
            raise LinkError(f"{url} could not transcribe a recording: {ev.get('error')}")
        elif kind == "error":
            err = ev.get("error", {})
            raise LinkError(f"{url} refused a recording: {err.get('code')}: {err.get('message')}")
        elif kind == "x.closed":
            raise LinkError(f"{url} closed the connection ({ev.get('code')})")


class Pacer:
    """The connection's audio timeline as a server paces it: audio continues where the
    last append ended, or now if that is past. A server keeps that timeline across
    commits, so pacing each recording from its own start would gain the lead it keeps
    while its transcript is awaited, recording after recording (antiphon refused the
    tenth or so at 2 s ahead)."""

    def __init__(self, lead_s: float = LEAD_S) -> None:
        self.lead_s = lead_s
        self.end: float | None = None  # monotonic time where the sent audio ends

    def wait_s(self, seconds: float, now: float) -> float:
        """How long to wait before sending ``seconds`` more audio (then counted as sent)."""
        start = now if self.end is None else max(self.end, now)
        wait = max(0.0, start + seconds - now - self.lead_s)
        self.end = start + seconds
        return wait


async def _send_paced(ws: Any, audio: np.ndarray, pacer: Pacer) -> None:
    pcm = resample(audio, RATE, WIRE_RATE)
    step = int(CHUNK_S * WIRE_RATE)
    for i in range(0, len(pcm), step):
        chunk = pcm[i : i + step]
        wait = pacer.wait_s(len(chunk) / WIRE_RATE, time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)
        b64 = base64.b64encode(float_to_pcm16(chunk)).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": b64}))


async def transcripts(
    url: str,
    api_key: str | None,
    recordings: Sequence[Recording],
    progress: Callable[[str], None] = lambda _m: None,
) -> list[str]:
    """The server's transcript of each recording, in order."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    ws = await connect(url, headers)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    reader = asyncio.create_task(_events(ws, inbox), name="remote-asr-reader")
    session = {
        "type": "realtime",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": WIRE_RATE},
                "transcription": {"model": "whisper-1"},
                "turn_detection": None,
            }
        },
    }
    out: list[str] = []
    pacer = Pacer()
    try:
        await ws.send(json.dumps({"type": "session.update", "session": session}))
        for n, rec in enumerate(recordings, 1):
            await _send_paced(ws, rec.audio(), pacer)
            await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
            out.append(await _await_transcript(inbox, url))
            if n % 10 == 0:
                progress(f"human recordings through {url}: {n}/{len(recordings)}")
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        with contextlib.suppress(Exception):
            await ws.close()
    return out
