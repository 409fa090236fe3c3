"""A Link to any server speaking Kyutai's Moshi protocol (/api/chat): binary messages,
first byte the kind; Ogg/Opus at 24 kHz both ways (sphn). The protocol has no response
ids or statuses; antiphon's server adds metadata (``user.speech_started``,
``response.done``) that this link uses when it is there."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import numpy as np

from antiphon.audio.io import StreamResampler
from antiphon.bench.duplex.link import RATE, Ended, Flush, Heard, Incoming, LinkError, Note
from antiphon.bench.duplex.link_realtime import connect

HANDSHAKE, AUDIO, TEXT, CONTROL, METADATA, ERROR, PING = range(7)
WIRE_RATE, FRAME = 24000, 1920  # 80 ms Opus frames


class MoshiLink:
    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"moshi {url}"
        self._ws: Any = None
        self._inbox: list[Incoming] = []
        self._reader: asyncio.Task[None] | None = None
        self._up = StreamResampler(RATE, WIRE_RATE)
        self._down = StreamResampler(WIRE_RATE, RATE)
        self._pending = np.zeros(0, np.float32)
        self._turn = 0  # the protocol has no response ids: count responses

    async def open(self) -> None:
        import sphn

        self._ws = await connect(self.url)
        try:
            first = await asyncio.wait_for(self._ws.recv(), 15)
        except (TimeoutError, Exception) as exc:
            await self._ws.close()
            raise LinkError(f"{self.url} sent no Moshi handshake: {exc}") from exc
        if not isinstance(first, bytes) or first[:1] != bytes([HANDSHAKE]):
            await self._ws.close()
            raise LinkError(
                f"{self.url} does not speak the Moshi protocol (first message {first[:16]!r}, "
                "expected the handshake byte 0)"
            )
        self._writer = sphn.OpusStreamWriter(WIRE_RATE)
        self._reader_ogg = sphn.OpusStreamReader(WIRE_RATE)
        self._reader = asyncio.create_task(self._read(), name="moshi-reader")

    async def _read(self) -> None:
        import websockets

        try:
            async for msg in self._ws:
                if isinstance(msg, bytes) and msg:
                    self._on(msg[0], msg[1:])
        except websockets.ConnectionClosed as exc:
            self._inbox.append(Note(f"connection closed ({exc.code})"))

    def _on(self, kind: int, payload: bytes) -> None:
        rid = f"moshi-{self._turn}"
        if kind == AUDIO:
            pcm = np.asarray(self._reader_ogg.append_bytes(payload), np.float32).reshape(-1)
            if len(pcm):
                self._inbox.append(Heard(rid, self._down(pcm)))
        elif kind == METADATA:
            with contextlib.suppress(ValueError):
                meta = json.loads(payload)
                if meta.get("type") == "user.speech_started":
                    self._inbox += [Flush(), Note("speech_started")]
                    self._turn += 1
                elif meta.get("type") == "response.done":
                    self._inbox += [Ended(rid, str(meta.get("status", ""))), Note("response.done")]
                    self._turn += 1
        elif kind == ERROR:
            self._inbox.append(Note("error " + payload.decode(errors="replace")[:60]))

    async def send(self, frame: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, self._up(frame)])
        while len(self._pending) >= FRAME:
            data = self._writer.append_pcm(self._pending[:FRAME])
            self._pending = self._pending[FRAME:]
            if len(data):
                try:
                    await self._ws.send(bytes([AUDIO]) + bytes(data))
                except Exception as exc:
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
