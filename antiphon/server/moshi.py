"""`/api/chat`: Kyutai's Moshi protocol, so Moshi's own clients talk to antiphon.

Binary messages, first byte the kind: 0 handshake, 1 audio (an Ogg/Opus stream at 24 kHz,
via sphn), 2 text (UTF-8 agent text), 3 control, 4 metadata (JSON), 5 error (UTF-8),
6 ping. The server speaks first with the handshake; audio both ways is one continuous
Ogg stream per direction."""

from __future__ import annotations

import json

import numpy as np
import sphn
from starlette.websockets import WebSocket

from antiphon.server.auth import admit
from antiphon.server.connection import CLOSE_UNSUPPORTED, CloseConnection, Connection
from antiphon.server.context import ServerContext
from antiphon.session.commands import AppendAudio, CancelResponse, CreateResponse, UserText
from antiphon.session.events import (
    AgentTextDelta,
    AudioChunk,
    ErrorEvent,
    Event,
    ResponseDone,
    UserSpeechStarted,
    UserTranscriptFinal,
)

HANDSHAKE, AUDIO, TEXT, CONTROL, METADATA, ERROR, PING = range(7)
RATE = 24000
FRAME = 1920  # 80 ms, Mimi's frame; an Opus frame size sphn accepts


class MoshiConnection(Connection):
    def __init__(self, ws: WebSocket, ctx: ServerContext) -> None:
        super().__init__(ws, ctx)
        self.reader = sphn.OpusStreamReader(RATE)
        self.writer = sphn.OpusStreamWriter(RATE)
        self._pending = np.zeros(0, dtype=np.float32)  # agent audio not yet a full frame
        self._active: str | None = None

    def error(self, message: str) -> None:
        self.ctx.stats.errors_sent += 1
        self.send(bytes([ERROR]) + message.encode())

    def metadata(self, **fields: object) -> None:
        self.send(bytes([METADATA]) + json.dumps(fields).encode())

    async def on_open(self) -> None:
        self.send(bytes([HANDSHAKE]))
        self.metadata(server="antiphon", model=self.ctx.model_name, sample_rate=RATE)

    def on_timeout(self, code: str, message: str) -> None:
        self.error(f"{code}: {message}")

    async def on_text(self, text: str) -> None:
        raise CloseConnection(CLOSE_UNSUPPORTED, "the Moshi protocol uses binary messages only")

    async def on_bytes(self, data: bytes) -> None:
        if len(data) > self.cfg.max_message_bytes:
            self.error(
                f"message of {len(data)} bytes exceeds the limit of {self.cfg.max_message_bytes}"
            )
            return
        if not data:
            self.error("empty message; the first byte must be the message kind")
            return
        kind, payload = data[0], data[1:]
        if kind == AUDIO:
            try:
                pcm = self.reader.append_bytes(payload)
            except Exception as exc:  # sphn raises plain exceptions for bad Ogg/Opus
                self.error(f"audio must be an Ogg/Opus stream at {RATE} Hz: {exc}")
                return
            if len(pcm):
                self.command(AppendAudio(np.asarray(pcm, dtype=np.float32).reshape(-1), RATE))
        elif kind == TEXT:
            text = payload.decode("utf-8", errors="replace").strip()
            if text:
                self.command(UserText(text))
                self.command(CreateResponse())
        elif kind == CONTROL:
            if payload[:1] == b"\x03" and self._active:  # restart: stop the agent
                self.command(CancelResponse("client_cancelled"))
        elif kind == PING:
            self.send(bytes([PING]) + payload)
        elif kind in (HANDSHAKE, METADATA):
            pass  # a client's handshake or metadata needs no answer
        else:
            self.error(f"unknown message kind {kind}; expected 0-6")

    async def on_event(self, event: Event) -> None:
        if isinstance(event, AudioChunk):
            self._active = event.response_id
            self._pending = np.concatenate([self._pending, event.audio.astype(np.float32)])
            while len(self._pending) >= FRAME:
                self._encode(self._pending[:FRAME])
                self._pending = self._pending[FRAME:]
        elif isinstance(event, AgentTextDelta):
            self._active = event.response_id
            self.send(bytes([TEXT]) + event.text.encode())
        elif isinstance(event, ResponseDone):
            if event.status == "cancelled":
                self._pending = self._pending[:0]
                self.outbox.drop_audio()
            elif len(self._pending):  # the tail, padded to a whole frame
                self._encode(np.pad(self._pending, (0, FRAME - len(self._pending))))
                self._pending = self._pending[:0]
            self._active = None
            self.metadata(
                type="response.done", status=event.status, reason=event.reason, text=event.text
            )
        elif isinstance(event, UserSpeechStarted):
            self.outbox.drop_audio()
            self.metadata(type="user.speech_started", audio_ms=event.audio_ms)
        elif isinstance(event, UserTranscriptFinal):
            self.metadata(type="user.transcript", text=event.text)
        elif isinstance(event, ErrorEvent):
            self.error(f"{event.code}: {event.message}")

    def _encode(self, frame: np.ndarray) -> None:
        data = self.writer.append_pcm(frame)
        if len(data):
            self.send(bytes([AUDIO]) + bytes(data), droppable=True)


async def moshi_endpoint(ws: WebSocket) -> None:
    ctx: ServerContext = ws.app.state.antiphon
    if not await admit(ws, ctx.config.api_key, ctx.full(), ctx.config.max_sessions):
        return
    await ws.accept()
    await MoshiConnection(ws, ctx).run(ctx.new_session())
