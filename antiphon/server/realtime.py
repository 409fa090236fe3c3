"""`/v1/realtime`: the OpenAI Realtime protocol (GA event names; beta names for clients
that send `OpenAI-Beta: realtime=v1`) over one WebSocket per session."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.websockets import WebSocket

from antiphon.audio.denoise import NoiseReducer
from antiphon.server import realtime_events as rt
from antiphon.server.auth import admit, choose_subprotocol
from antiphon.server.connection import (
    CLOSE_NORMAL,
    CLOSE_TOO_BIG,
    CloseConnection,
    Connection,
    Transport,
)
from antiphon.server.context import ServerContext
from antiphon.server.protocol import server_events
from antiphon.server.protocol.client_events import decode_client_event
from antiphon.server.protocol.errors import ClientError
from antiphon.server.realtime_config import RealtimeSessionState
from antiphon.server.realtime_idle import IdleTimer
from antiphon.server.realtime_in import ClientEventHandler
from antiphon.server.realtime_mcp import McpBridge
from antiphon.server.realtime_out import EventTranslator
from antiphon.session.commands import (
    AppendAudio,
    CancelResponse,
    Configure,
    CreateResponse,
    DeleteItem,
    TurnDetection,
)
from antiphon.session.events import Event, ResponseDone, UserSpeechStarted


class RealtimeConnection(Connection):
    def __init__(
        self,
        ws: WebSocket | Transport,
        ctx: ServerContext,
        beta: bool,
        extras: bool,
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(ws, ctx)
        self.beta = beta
        self.state = RealtimeSessionState(
            model=ctx.model_name, turn_detection=TurnDetection(kind="semantic_vad")
        )
        self.out: EventTranslator | None = None
        self.handler: ClientEventHandler | None = None
        self._extras = extras
        self._initial = initial  # session config that came with the connection (WebRTC)
        self.idle = IdleTimer()
        self._denoiser: NoiseReducer | None = None
        self.mcp = McpBridge(self, ctx.config.mcp_timeout_s)

    def emit(self, ev: dict[str, Any]) -> None:
        if self.cfg.validate_events:
            server_events.validate(ev)  # raises: a test must not pass on an event the SDK refuses
        if ev["type"] == "error":
            self.ctx.stats.errors_sent += 1
        self.send(rt.encode(ev, self.beta), droppable=ev["type"] == "response.output_audio.delta")

    async def on_open(self) -> None:
        assert self.session is not None
        brain_conv = getattr(self.session.brain, "conv", None)
        self.state.instructions = getattr(brain_conv, "instructions", "") or ""
        self.out = EventTranslator(self.state, self.session.output_rate, extras=self._extras)
        self.handler = ClientEventHandler(self.state, self.out)
        if self._initial is not None:  # validated by the endpoint; session.created shows it
            for cmd in self.handler.handle(
                {"type": "session.update", "session": self._initial}
            ).commands:
                self.command(self.mcp.on_configure(cmd) if isinstance(cmd, Configure) else cmd)
        self.emit(rt.event("session.created", session=self.state.as_json()))

    def on_timeout(self, code: str, message: str) -> None:
        self.emit(
            rt.error(
                code,
                message,
                kind="session_expired" if code == "max_session_length" else "invalid_request_error",
            )
        )

    async def on_bytes(self, data: bytes) -> None:
        raise CloseConnection(
            1003, "binary frames are not part of the Realtime protocol; send JSON text"
        )

    async def on_text(self, text: str) -> None:
        assert self.handler is not None
        if len(text) > self.cfg.max_message_bytes:
            self.emit(
                rt.error(
                    "message_too_large",
                    f"message of {len(text)} bytes exceeds the limit of {self.cfg.max_message_bytes} bytes; split audio into smaller appends",
                )
            )
            return
        try:
            handled = self.handler.handle(decode_client_event(text))
        except ClientError as exc:
            self.emit(
                rt.error(exc.code, exc.message, param=exc.param, client_event_id=exc.event_id)
            )
            return
        if handled.drop_audio:
            self.drop_audio()
        for reply in handled.replies:
            self.emit(reply)
        for cmd in handled.commands:
            if isinstance(cmd, AppendAudio):
                self.input_audio(cmd)
            elif isinstance(cmd, Configure):
                self.command(self.mcp.on_configure(cmd))
            else:
                self.command(cmd)

    def input_audio(self, cmd: AppendAudio) -> None:
        """Client audio (appends, or the WebRTC track): noise reduction when the session
        asks for it, then the session, then the idle timer."""
        profile = self.state.noise_reduction
        if profile is None:
            self._denoiser = None
        else:
            nr = self._denoiser
            if nr is None or nr.profile != profile or nr.sample_rate != cmd.sample_rate:
                nr = self._denoiser = NoiseReducer(cmd.sample_rate, profile)  # type: ignore[arg-type]
            cmd = AppendAudio(nr(cmd.audio), cmd.sample_rate)
            if not len(cmd.audio):
                return
        self.command(cmd)
        self.count_input(cmd)

    def count_input(self, cmd: AppendAudio) -> None:
        """Input audio advances the idle timer (server_vad idle_timeout_ms)."""
        td = self.state.turn_detection
        timeout = self.state.idle_timeout_ms if td is not None and td.kind == "server_vad" else None
        hit = self.idle.advance(len(cmd.audio) * 1000 / cmd.sample_rate, timeout)
        if hit is None or self.out is None:
            return
        item_id = "item_" + uuid.uuid4().hex[:12]
        self.emit(
            rt.event(
                "input_audio_buffer.timeout_triggered",
                audio_start_ms=hit[0],
                audio_end_ms=hit[1],
                item_id=item_id,
            )
        )
        for ev in self.out.commit_silence(item_id):
            self.emit(ev)
        self.command(CreateResponse())

    def drop_audio(self) -> None:
        """Agent audio not yet sent is never sent (barge-in, cancel, output_audio_buffer.clear)."""
        self.outbox.drop_audio()

    async def on_event(self, event: Event) -> None:
        assert self.out is not None
        self.idle.on_event(event)
        if self.mcp.intercept(event):
            return
        if isinstance(event, UserSpeechStarted) or (
            isinstance(event, ResponseDone) and event.status == "cancelled"
        ):
            self.drop_audio()  # barge-in: audio still queued here would play over the user
        for ev in self.out.translate(event):
            self.emit(ev)
        self._after(event)

    def _after(self, event: Event) -> None:
        """max_output_tokens cuts a response; an out-of-band one is forgotten when done."""
        assert self.out is not None
        rid = getattr(event, "response_id", None)
        if isinstance(rid, str) and self.out.over_budget(rid):
            self.command(CancelResponse("max_output_tokens"))
            self.drop_audio()
        if isinstance(event, ResponseDone) and event.response_id in self.out.out_of_band:
            self.out.out_of_band.discard(event.response_id)
            req = self.out.finished_requests.pop(event.response_id, None)
            for item_id in (event.item_id, *(req.temp_items if req else ())):
                self.command(DeleteItem(item_id))


async def realtime_endpoint(ws: WebSocket) -> None:
    ctx: ServerContext = ws.app.state.antiphon
    hint = " (Authorization: Bearer KEY)"
    if not await admit(ws, ctx.config.api_key, ctx.full(), ctx.config.max_sessions, hint):
        return
    await ws.accept(subprotocol=choose_subprotocol(ws))
    beta = ws.headers.get("openai-beta", "").startswith("realtime=v1")
    extras = ws.query_params.get("x_antiphon") in ("1", "true")
    conn = RealtimeConnection(ws, ctx, beta=beta, extras=extras)
    await conn.run(ctx.new_session())


__all__ = ["realtime_endpoint", "RealtimeConnection", "CLOSE_NORMAL", "CLOSE_TOO_BIG"]
