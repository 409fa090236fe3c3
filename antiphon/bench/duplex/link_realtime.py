"""A Link to any OpenAI-Realtime-compatible server: PCM16 at 24 kHz both ways, JSON events.

It behaves like a careful client: it stops its own playback when the server reports that
the user started speaking (``input_audio_buffer.speech_started``), as the protocol asks
clients to do, and reads each response's final status from ``response.done``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from typing import Any

import numpy as np

from antiphon.audio.io import StreamResampler, float_to_pcm16, pcm16_to_float
from antiphon.bench.duplex.link import RATE, Ended, Flush, Heard, Incoming, LinkError, Note

WIRE_RATE = 24000
AUDIO_DELTAS = ("response.output_audio.delta", "response.audio.delta")  # GA and beta names


async def connect(url: str, headers: dict[str, str] | None = None) -> Any:
    """A websocket, or a LinkError that says what went wrong."""
    import websockets

    if not url.startswith(("ws://", "wss://")):
        raise LinkError(f"{url!r} is not a websocket URL; expected ws://HOST:PORT/PATH or wss://…")
    try:
        return await websockets.connect(
            url, additional_headers=headers or {}, max_size=None, open_timeout=15
        )
    except websockets.InvalidStatus as exc:
        raise LinkError(
            f"the server at {url} refused the connection: HTTP {exc.response.status_code}"
        ) from exc
    except (OSError, TimeoutError, websockets.InvalidURI, websockets.InvalidHandshake) as exc:
        raise LinkError(f"cannot connect to {url}: {exc}") from exc


class RealtimeLink:
    name = "realtime"

    def __init__(self, url: str, api_key: str | None = None) -> None:
        self.url = url
        self.api_key = api_key
        self.name = f"realtime {url}"
        self._ws: Any = None
        self._inbox: list[Incoming] = []
        self._reader: asyncio.Task[None] | None = None
        self._up = StreamResampler(RATE, WIRE_RATE)
        self._down = StreamResampler(WIRE_RATE, RATE)

    async def open(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._ws = await connect(self.url, headers)
        session = {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": WIRE_RATE}},
                "output": {"format": {"type": "audio/pcm", "rate": WIRE_RATE}},
            },
        }
        await self._ws.send(json.dumps({"type": "session.update", "session": session}))
        self._reader = asyncio.create_task(self._read(), name="realtime-reader")

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self._ws:
                self._on(json.loads(raw))
        except websockets.ConnectionClosed as exc:
            self._inbox.append(Note(f"connection closed ({exc.code})"))

    def _on(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type", "")
        if kind in AUDIO_DELTAS:
            pcm = pcm16_to_float(base64.b64decode(ev.get("delta", "")))
            self._inbox.append(Heard(str(ev.get("response_id", "")), self._down(pcm)))
        elif kind == "input_audio_buffer.speech_started":
            self._inbox += [Flush(), Note("speech_started")]
        elif kind == "response.created":
            self._inbox.append(Note("response.created"))
        elif kind == "response.done":
            resp = ev.get("response", {})
            status = str(resp.get("status", ""))
            reason = (resp.get("status_details") or {}).get("reason") or ""
            self._inbox += [
                Ended(str(resp.get("id", "")), status),
                Note(f"response {status}" + (f" ({reason})" if reason else "")),
            ]
        elif kind == "error":
            err = ev.get("error", {})
            self._inbox.append(Note(f"error {err.get('code') or err.get('type')}"))

    async def send(self, frame: np.ndarray) -> None:
        pcm = self._up(frame)
        if len(pcm):
            b64 = base64.b64encode(float_to_pcm16(pcm)).decode()
            try:
                await self._ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": b64}))
            except Exception as exc:  # the server went away mid-take
                raise LinkError(f"lost the connection to {self.url}: {exc}") from exc

    def poll(self) -> list[Incoming]:
        out, self._inbox = self._inbox, []
        return out

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
