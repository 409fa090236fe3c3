"""`POST /v1/realtime/calls` with a real WebRTC peer (aiortc) against a live server on the
fake brain: Opus both ways, the oai-events data channel, the output_audio_buffer events,
session config in the request, and every bad offer answered with a specific HTTP error."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import numpy as np
from rtcclient import RATE, RtcClient
from wsclient import speechlike

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


def _turn() -> np.ndarray:
    return np.concatenate(
        [np.zeros(RATE // 4, np.float32), speechlike(0.6, RATE), np.zeros(RATE * 8, np.float32)]
    )


async def _post(url: str, body: str | bytes, ctype: str = "application/sdp") -> tuple[int, dict]:  # type: ignore[type-arg]
    async with (
        aiohttp.ClientSession() as http,
        http.post(url + "/v1/realtime/calls", data=body, headers={"Content-Type": ctype}) as r,
    ):
        return r.status, await r.json()


async def test_spoken_turn_over_webrtc(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = RtcClient(fake_server.url, _turn())
    try:
        await c.connect(session={"type": "realtime", "instructions": "Be brief.", "tools": TOOLS})
        assert c.location.startswith("/v1/realtime/calls/rtc_")
        created = await c.wait_for("session.created")
        assert created["session"]["instructions"] == "Be brief."
        assert created["session"]["tools"][0]["name"] == "get_weather"
        await c.wait_for("input_audio_buffer.speech_started")
        call = await c.wait_for("response.function_call_arguments.done")
        c.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": "sunny",
                },
            }
        )
        c.send({"type": "response.create"})
        n = len(c.events)
        await c.wait_for("output_audio_buffer.stopped", after=n)
        types = c.types()
        assert "response.output_audio.delta" not in types  # audio goes over RTP
        second = types[n:]
        assert second.index("response.created") < second.index("output_audio_buffer.started")
        assert second.index("output_audio_buffer.started") < second.index(
            "output_audio_buffer.stopped"
        )
        assert second.index("response.done") < second.index("output_audio_buffer.stopped")
        assert not c.invalid, c.invalid
        # the 440 Hz answer was heard on the remote track
        heard = c.heard_audio()
        spectrum = np.abs(np.fft.rfft(heard))
        freqs = np.fft.rfftfreq(len(heard), 1 / RATE)
        assert abs(freqs[int(np.argmax(spectrum))] - 440) < 10
        loud = np.sqrt(np.mean(heard.reshape(-1, 960) ** 2, axis=1)) > 0.05
        assert 0.4 < loud.sum() * 0.02 < 1.0, loud.sum()  # ~0.6 s of beep, played once
    finally:
        await c.close()


async def test_barge_in_clears_the_output_buffer(fake_server) -> None:  # type: ignore[no-untyped-def]
    # speech, a pause for the fake brain to answer (its beep lasts 0.6 s), speech again
    signal = np.concatenate(
        [
            np.zeros(RATE // 4, np.float32),
            speechlike(0.6, RATE),
            np.zeros(int(RATE * 0.55), np.float32),
            speechlike(0.6, RATE, seed=1),
            np.zeros(RATE * 3, np.float32),
        ]
    )
    c = RtcClient(fake_server.url, signal)
    try:
        await c.connect()
        started = await c.wait_for("output_audio_buffer.started")
        cleared = await c.wait_for("output_audio_buffer.cleared")
        assert cleared["response_id"] == started["response_id"]
        done = await c.wait_for("response.done")
        assert done["response"]["status"] == "cancelled"
        types = c.types()
        assert (
            "output_audio_buffer.stopped" not in types[: types.index("output_audio_buffer.cleared")]
        )
        assert not c.invalid, c.invalid
    finally:
        await c.close()


async def test_client_clears_the_output_buffer(fake_server) -> None:  # type: ignore[no-untyped-def]
    """`output_audio_buffer.clear` from the peer cuts the answer it is hearing: the response
    is cancelled and the track goes quiet."""
    c = RtcClient(fake_server.url, np.zeros(RATE * 4, np.float32))
    try:
        await c.connect()
        c.send({"type": "response.create"})
        started = await c.wait_for("output_audio_buffer.started")
        c.send({"type": "output_audio_buffer.clear", "event_id": "clr"})
        cleared = await c.wait_for("output_audio_buffer.cleared")
        assert cleared["response_id"] == started["response_id"]
        done = await c.wait_for("response.done")
        assert done["response"]["status"] == "cancelled"
        assert "output_audio_buffer.stopped" not in c.types()
        await asyncio.sleep(0.5)
        loud = np.array([np.sqrt(np.mean(f**2)) > 0.01 for f in c.heard])
        assert loud.sum() * 0.02 < 0.45, loud.sum()  # less than the 0.6 s beep was played
        assert not c.invalid, c.invalid
    finally:
        await c.close()


async def test_data_channel_closing_mid_response_ends_the_call_only(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = RtcClient(fake_server.url, _turn())
    await c.connect()
    await c.wait_for("output_audio_buffer.started")
    c.dc.close()
    stats = fake_server.ctx.stats
    deadline = time.monotonic() + 10
    while stats.sessions_open and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert stats.sessions_open == 0
    await c.close()
    again = RtcClient(fake_server.url, _turn())  # the server lives
    try:
        await again.connect()
        await again.wait_for("session.created")
    finally:
        await again.close()


async def test_a_client_gone_without_a_goodbye_ends_its_call(fake_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A browser that is closed or crashes mid-call stops sending audio and often closes
    nothing: its call ends after MEDIA_TIMEOUT_S without audio, not when ICE consent fails
    (~30 s); a client that keeps streaming (silence too) is kept."""
    from antiphon.server import webrtc

    monkeypatch.setattr(webrtc, "MEDIA_TIMEOUT_S", 1.0)
    stats = fake_server.ctx.stats
    gone, staying = RtcClient(fake_server.url, _turn()), RtcClient(fake_server.url, _turn())
    try:
        await gone.connect()
        await staying.connect()
        await gone.wait_for("session.created")
        await staying.wait_for("session.created")
        assert stats.sessions_open == 2
        gone.mic.frozen = True
        t0 = time.monotonic()
        while stats.sessions_open > 1 and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.05)
        assert stats.sessions_open == 1, "the silent client's call is still open"
        assert 0.8 < time.monotonic() - t0 < 5
        await asyncio.sleep(2.0)  # three timeouts long: the streaming client stays
        assert stats.sessions_open == 1
        assert staying.pc.connectionState == "connected"
    finally:
        await gone.close()
        await staying.close()


async def test_hangup(fake_server) -> None:  # type: ignore[no-untyped-def]
    c = RtcClient(fake_server.url, np.zeros(RATE, np.float32))
    try:
        await c.connect()
        await c.wait_for("session.created")
        async with aiohttp.ClientSession() as http:
            async with http.post(fake_server.url + c.location + "/hangup") as r:
                assert r.status == 200
            async with http.post(fake_server.url + c.location + "/hangup") as r:
                assert r.status == 404
                assert (await r.json())["error"]["code"] == "call_not_found"
    finally:
        await c.close()


async def test_bad_offers_get_specific_errors(fake_server) -> None:  # type: ignore[no-untyped-def]
    status, body = await _post(fake_server.url, "hello")
    assert status == 400 and body["error"]["code"] == "invalid_sdp"
    # a data-channel-only offer has no audio m-line
    c = RtcClient(fake_server.url, np.zeros(0, np.float32), audio=False)
    await c.pc.setLocalDescription(await c.pc.createOffer())
    status, body = await _post(fake_server.url, c.pc.localDescription.sdp)
    await c.close()
    assert status == 400 and body["error"]["code"] == "sdp_no_audio", body
    status, body = await _post(fake_server.url, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n")
    assert status == 400 and body["error"]["code"] == "sdp_no_supported_codec", body
    broken = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
    status, body = await _post(fake_server.url, broken)
    assert status == 400 and body["error"]["code"] == "invalid_sdp", body
    status, body = await _post(fake_server.url, b"{}", "application/json")
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    # a session config that session.update would refuse is refused before any call starts
    c = RtcClient(fake_server.url, np.zeros(RATE, np.float32))
    try:
        bad = {"audio": {"input": {"turn_detection": {"type": "loud_vad"}}}}
        try:
            await c.connect(session=bad)
            raise AssertionError("a bad session config was accepted")
        except RuntimeError as exc:
            assert "400" in str(exc) and "turn_detection" in str(exc)
    finally:
        await c.close()
    assert fake_server.ctx.stats.sessions_open == 0


def test_serve_flags_set_the_ice_settings() -> None:
    from antiphon.cli import build_parser
    from antiphon.server.main import config_from_args

    local = config_from_args(build_parser().parse_args(["serve"]))
    assert local.webrtc_host_addresses == ("127.0.0.1",) and local.ice_servers == ()
    public = config_from_args(
        build_parser().parse_args(
            ["serve", "--host", "0.0.0.0", "--ice-server", "stun:stun.example.org:3478"]
        )
    )
    assert public.webrtc_host_addresses == ()  # every interface
    assert public.ice_servers == ("stun:stun.example.org:3478",)
