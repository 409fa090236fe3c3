"""A minimal WebRTC Realtime client on aiortc, as a browser does it: a microphone track
(here: a numpy signal played in real time), an `oai-events` data channel, the SDP offer
POSTed to /v1/realtime/calls, and the agent's audio recorded off the remote track."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from wsclient import validate

from antiphon.server.webrtc_media import low_latency_input

RATE = 48000
FRAME = 960


class SignalTrack(MediaStreamTrack):
    """Plays a float32 mono signal at 48 kHz in real time, then silence."""

    kind = "audio"

    def __init__(self, signal: np.ndarray) -> None:
        super().__init__()
        self.signal = signal.astype(np.float32)
        self.pos = 0
        self.t0: float | None = None
        self.started_at: float | None = None  # monotonic time of the first frame
        self.frozen = False  # set: no more frames, no goodbye (a client that vanished)

    async def recv(self) -> av.AudioFrame:
        if self.frozen:
            await asyncio.Event().wait()
        if self.t0 is None:
            self.t0 = self.started_at = time.monotonic()
        wait = self.t0 + self.pos / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        chunk = np.zeros(FRAME, np.float32)
        part = self.signal[self.pos : self.pos + FRAME]
        chunk[: len(part)] = part
        pcm = (np.clip(chunk, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.pos, fractions.Fraction(1, RATE)
        self.pos += FRAME
        return frame


class RtcClient:
    def __init__(
        self,
        base_url: str,
        signal: np.ndarray,
        audio: bool = True,
        low_latency: bool = False,
        prefetch: int | None = None,
    ) -> None:
        # low_latency: decode each packet as it arrives (the server's ArrivalBuffer) instead
        # of aiortc's 80 ms buffer; prefetch: aiortc's own buffer with this prefetch instead
        self.low_latency, self.prefetch = low_latency, prefetch
        self.url = base_url.rstrip("/") + "/v1/realtime/calls"
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = SignalTrack(signal)
        if audio:
            self.pc.addTrack(self.mic)
        self.dc = self.pc.createDataChannel("oai-events")
        self.events: list[dict[str, Any]] = []
        self.invalid: list[str] = []  # events the SDK's models reject
        self.event_times: list[float] = []
        self.heard: list[np.ndarray] = []  # 48 kHz mono frames of the agent
        self.heard_times: list[float] = []
        self.opened = asyncio.Event()
        self._new = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.location = ""
        self.dc.on("open", self.opened.set)
        self.dc.on("message", self._on_message)
        self.pc.on("track", self._on_track)

    def _on_message(self, msg: str) -> None:
        ev = json.loads(msg)
        try:
            validate(ev)  # every server event against the openai SDK's GA models
        except ValueError as exc:
            self.invalid.append(f"{ev.get('type')}: {exc}")
        self.events.append(ev)
        self.event_times.append(time.monotonic())
        self._new.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.create_task(self._record(track)))

    async def _record(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            data = frame.to_ndarray().astype(np.float32) / 32768.0  # type: ignore[union-attr]
            ch = len(frame.layout.channels)  # type: ignore[union-attr]
            self.heard.append(data.reshape(-1, ch).mean(axis=1))
            self.heard_times.append(time.monotonic())

    async def connect(self, session: dict[str, Any] | None = None, query: str = "") -> int:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription.sdp
        async with aiohttp.ClientSession() as http:
            if session is None:
                kw: dict[str, Any] = {"data": offer, "headers": {"Content-Type": "application/sdp"}}
            else:
                form = aiohttp.FormData()
                form.add_field("sdp", offer, content_type="application/sdp")
                form.add_field("session", json.dumps(session), content_type="application/json")
                kw = {"data": form}
            async with http.post(self.url + query, **kw) as resp:
                body = await resp.text()
                if resp.status != 201:
                    raise RuntimeError(f"{resp.status}: {body}")
                self.location = resp.headers.get("Location", "")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        if self.low_latency:
            assert low_latency_input(self.pc)
        elif self.prefetch is not None:
            for t in self.pc.getTransceivers():
                if t.kind == "audio":
                    t.receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(16, self.prefetch)
        await asyncio.wait_for(self.opened.wait(), 20)
        return 201

    def send(self, ev: dict[str, Any]) -> None:
        self.dc.send(json.dumps(ev))

    async def wait_for(self, kind: str, timeout: float = 20.0, after: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events[after:]:
                if ev["type"] == kind:
                    return ev
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind}; got {[e['type'] for e in self.events]}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), left)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def heard_audio(self) -> np.ndarray:
        return np.concatenate(self.heard) if self.heard else np.zeros(0, np.float32)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.pc.close()
