"""`POST /v1/realtime/calls`: the Realtime protocol over WebRTC, as the GA API defines it.

The body is the SDP offer (`application/sdp`), or multipart with an `sdp` part and a
`session` part (the session config as JSON). The answer SDP comes back with 201 and a
`Location` naming the call. Audio flows as Opus both ways on the peer connection; the
`oai-events` data channel carries exactly the JSON events of the WebSocket endpoint, except
that agent audio plays on the track instead of `response.output_audio.delta`, and the
output_audio_buffer.started / stopped / cleared events say what the peer hears."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from antiphon.server import realtime_events as rt
from antiphon.server.auth import authorized
from antiphon.server.connection import CloseConnection
from antiphon.server.context import ServerContext
from antiphon.server.protocol.errors import ClientError
from antiphon.server.realtime import RealtimeConnection
from antiphon.server.realtime_config import parse_session
from antiphon.server.webrtc_channel import (
    DataChannelSocket,
    drop_remote_candidates_off_loopback,
    ice_servers,
    set_host_addresses,
)
from antiphon.server.webrtc_media import AgentAudioTrack, frame_to_mono, low_latency_input
from antiphon.session.commands import AppendAudio
from antiphon.session.events import AudioChunk, Event, ResponseDone

log = logging.getLogger("antiphon.server")
MAX_SDP_BYTES = 64 * 1024
ACTIVITY_EVERY = 50  # RTP frames (1 s) between idle-timeout keep-alives
# A browser sends its microphone's frames every 20 ms while a call is up, muted too (silence).
# One that is closed or crashes mid-call sends nothing more, often not even a goodbye: without
# this the call (its session, its reply still being computed) lived until ICE consent failed,
# ~33 s after headless Chromium closed (measured 2026-12-07).
MEDIA_TIMEOUT_S = 5.0
_CODEC = re.compile(r"^a=rtpmap:\d+ (opus/48000|PCMU/8000|PCMA/8000)", re.MULTILINE | re.IGNORECASE)


class CallError(Exception):
    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param

    def response(self) -> JSONResponse:
        body = {
            "error": {
                "type": "invalid_request_error",
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }
        return JSONResponse(body, status_code=self.status)


def check_offer(sdp: str) -> None:
    """The checks aiortc's parser does not make, with errors a client can act on."""
    lines = [ln.strip() for ln in sdp.splitlines() if ln.strip()]
    if not lines or lines[0] != "v=0":
        raise CallError(
            400, "invalid_sdp", "the body is not an SDP offer (it must begin with v=0)", "sdp"
        )
    if not any(ln.startswith("m=audio ") for ln in lines):
        raise CallError(
            400,
            "sdp_no_audio",
            "the SDP offer has no audio m-line; a Realtime call needs an audio track "
            "(add a microphone track or a recvonly audio transceiver)",
            "sdp",
        )
    if not _CODEC.search(sdp.replace("\r", "")):
        raise CallError(
            400,
            "sdp_no_supported_codec",
            "the SDP offer's audio has none of opus/48000, PCMU, PCMA",
            "sdp",
        )


async def read_offer(request: Request) -> tuple[str, dict[str, Any] | None]:
    """(SDP offer, session config or None) from an application/sdp or multipart body."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    session: object = None
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form()
        raw_sdp, raw_session = form.get("sdp"), form.get("session")
        sdp = (
            raw_sdp
            if isinstance(raw_sdp, str)
            else (await raw_sdp.read()).decode()
            if raw_sdp
            else ""
        )
        if raw_session is not None:
            text = (
                raw_session if isinstance(raw_session, str) else (await raw_session.read()).decode()
            )
            try:
                session = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CallError(
                    400, "invalid_json", f"the session part is not valid JSON: {exc}", "session"
                ) from exc
        if not sdp:
            raise CallError(
                400, "missing_required_parameter", "the multipart body needs an sdp part", "sdp"
            )
    elif ctype in ("application/sdp", "text/plain", ""):
        body = await request.body()
        if len(body) > MAX_SDP_BYTES:
            raise CallError(
                413, "sdp_too_large", f"the SDP offer is over {MAX_SDP_BYTES} bytes", "sdp"
            )
        sdp = body.decode("utf-8", errors="replace")
    else:
        raise CallError(
            415,
            "unsupported_media_type",
            f"Content-Type {ctype!r}: send application/sdp, or multipart/form-data with sdp and session parts",
        )
    if session is not None and not isinstance(session, dict):
        raise CallError(400, "invalid_type", "session must be a JSON object", "session")
    return sdp, session


class WebRTCConnection(RealtimeConnection):
    def __init__(
        self,
        pc: RTCPeerConnection,
        ctx: ServerContext,
        output_rate: int,
        extras: bool,
        initial: dict[str, Any] | None,
    ) -> None:
        self.socket = DataChannelSocket(pc)
        super().__init__(self.socket, ctx, beta=False, extras=extras, initial=initial)
        self.pc = pc
        self.track = AgentAudioTrack(output_rate, self._started, self._stopped)
        self._audio_task: asyncio.Task[None] | None = None
        self._cut: str | None = None  # response whose audible audio a drop just cut off
        self._cleared_sent = False

    # ---- output audio buffer events --------------------------------------------------------
    def _started(self, rid: str) -> None:
        self.emit(rt.event("output_audio_buffer.started", response_id=rid))

    def _stopped(self, rid: str) -> None:
        self.emit(rt.event("output_audio_buffer.stopped", response_id=rid))

    def emit(self, ev: dict[str, Any]) -> None:
        if ev["type"] == "response.output_audio.delta":
            return  # the audio plays on the RTP track
        if ev["type"] == "output_audio_buffer.cleared":
            self._cleared_sent = True
        super().emit(ev)

    def drop_audio(self) -> None:
        super().drop_audio()
        self._cut = self.track.clear() or self._cut

    def _report_cut(self) -> None:
        if self._cut is not None and not self._cleared_sent:
            self.emit(rt.event("output_audio_buffer.cleared", response_id=self._cut))
        self._cut, self._cleared_sent = None, False

    async def on_text(self, text: str) -> None:
        self._cut, self._cleared_sent = None, False
        await super().on_text(text)
        self._report_cut()

    async def on_event(self, event: Event) -> None:
        assert self.out is not None
        if isinstance(event, AudioChunk):
            events = self.out.translate(event)
            r = self.out.responses.get(event.response_id)
            if r is not None and r.modality == "audio":
                self.track.push(event.audio, event.response_id)
            for ev in events:
                self.emit(ev)
            return
        self._cut, self._cleared_sent = None, False
        await super().on_event(event)
        if isinstance(event, ResponseDone):
            self.track.finish(event.response_id)
        self._report_cut()

    # ---- input audio ---------------------------------------------------------------------------
    def on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._audio_task is None:
            self._audio_task = asyncio.create_task(self._read_audio(track), name="rtc-audio-in")

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        frames = 0
        while True:
            try:
                # a timer per frame, not a task (asyncio.wait_for wraps each recv in one)
                async with asyncio.timeout(MEDIA_TIMEOUT_S):
                    frame = await track.recv()
            except MediaStreamError:
                return
            except TimeoutError:
                log.info(
                    "WebRTC call: no audio from the client for %.0f s; the call ends",
                    MEDIA_TIMEOUT_S,
                )
                self.socket.disconnect()
                return
            audio = frame_to_mono(frame)  # type: ignore[arg-type]
            rate = int(frame.sample_rate)  # type: ignore[union-attr]
            if self.handler is not None:
                self.handler.buffered_ms += len(audio) * 1000 / rate
            try:
                self.input_audio(AppendAudio(audio, rate))
            except CloseConnection:
                self.request_close(1008, "audio arrives faster than the session takes it")
                return
            frames += 1
            if frames % ACTIVITY_EVERY == 0:
                self.socket.activity()

    async def stop_media(self) -> None:
        if self._audio_task is not None:
            self._audio_task.cancel()
            with contextlib.suppress(BaseException):
                await self._audio_task
        self.track.stop()
        await self.pc.close()


class Calls:
    """The live WebRTC calls of one server process."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.live: dict[str, WebRTCConnection] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        set_host_addresses(ctx.config.webrtc_host_addresses)

    async def create(self, request: Request) -> Response:
        ctx = self.ctx
        try:
            if not authorized(request, ctx.config.api_key):
                raise CallError(
                    401, "invalid_api_key", "missing or wrong API key (Authorization: Bearer KEY)"
                )
            if ctx.full():
                raise CallError(
                    503,
                    "server_busy",
                    f"the server is at its limit of {ctx.config.max_sessions} sessions",
                )
            sdp, session_cfg = await read_offer(request)
            check_offer(sdp)
            if session_cfg is not None:
                try:  # a bad config is an HTTP error, not a call
                    parse_session(session_cfg)
                except ClientError as exc:
                    raise CallError(400, exc.code, exc.message, exc.param) from exc
            return await self._answer(request, sdp, session_cfg)
        except CallError as err:
            return err.response()

    async def _answer(
        self, request: Request, sdp: str, session_cfg: dict[str, Any] | None
    ) -> Response:
        cfg = self.ctx.config
        pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=ice_servers(cfg.ice_servers, cfg.ice_username, cfg.ice_credential)
            )
        )
        session = self.ctx.new_session()
        extras = request.query_params.get("x_antiphon") in ("1", "true")
        conn = WebRTCConnection(pc, self.ctx, session.output_rate, extras, session_cfg)
        pc.addTrack(conn.track)
        pc.on("datachannel", conn.socket.attach)
        pc.on("track", conn.on_track)
        try:
            offer = drop_remote_candidates_off_loopback(sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            if not low_latency_input(pc):
                log.warning("aiortc's receive jitter buffer not found: input keeps its 80 ms")
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc's parser and negotiation raise several kinds
            await conn.stop_media()
            with contextlib.suppress(Exception):
                await session.close()
            raise CallError(
                400, "invalid_sdp", f"the SDP offer could not be negotiated: {exc}", "sdp"
            ) from exc
        call_id = "rtc_" + uuid.uuid4().hex[:20]
        self.live[call_id] = conn
        task = asyncio.create_task(self._serve(call_id, conn, session), name=f"call-{call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Response(
            pc.localDescription.sdp,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call_id}"},
        )

    async def _serve(self, call_id: str, conn: WebRTCConnection, session: Any) -> None:
        try:
            await conn.run(session)
        except Exception:
            log.exception("WebRTC call %s failed", call_id)
        finally:
            self.live.pop(call_id, None)
            await conn.stop_media()

    async def hangup(self, request: Request) -> Response:
        if not authorized(request, self.ctx.config.api_key):
            return CallError(401, "invalid_api_key", "missing or wrong API key").response()
        call_id = request.path_params["call_id"]
        # gone from the table at once: a second hangup is 404 even while the call's task is
        # still shutting down
        conn = self.live.pop(call_id, None)
        if conn is None:
            return CallError(
                404, "call_not_found", f"no live call {call_id!r}", "call_id"
            ).response()
        conn.socket.disconnect()
        return Response(status_code=200)

    async def close_all(self) -> None:
        for conn in list(self.live.values()):
            conn.socket.disconnect()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)
