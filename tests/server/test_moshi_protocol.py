"""The Moshi protocol at /api/chat, with a client written against Kyutai's protocol:
binary kind byte, Ogg/Opus audio at 24 kHz both ways (sphn), text, ping, errors."""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np
import sphn
import websockets
from speech import synth
from wsclient import speechlike

HANDSHAKE, AUDIO, TEXT, CONTROL, METADATA, ERROR, PING = range(7)


async def moshi_turn(
    url: str, speech24k: np.ndarray, wait_text: str | None, timeout: float
) -> tuple[str, np.ndarray, list[bytes]]:
    writer, reader = sphn.OpusStreamWriter(24000), sphn.OpusStreamReader(24000)
    text, pcm, other = "", [], []
    async with websockets.connect(url, max_size=None) as ws:
        first = await asyncio.wait_for(ws.recv(), 10)
        assert isinstance(first, bytes) and first[0] == HANDSHAKE

        async def talk() -> None:
            audio = np.concatenate(
                [np.zeros(1920 * 3, np.float32), speech24k, np.zeros(24000 * 2, np.float32)]
            )
            t0 = time.monotonic()
            for i in range(0, len(audio) - 1919, 1920):
                data = writer.append_pcm(audio[i : i + 1920])
                if len(data):
                    await ws.send(bytes([AUDIO]) + bytes(data))
                await asyncio.sleep(max(0.0, t0 + (i + 1920) / 24000 - time.monotonic()))

        sender = asyncio.create_task(talk())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = await asyncio.wait_for(
                    ws.recv(), timeout=max(0.1, deadline - time.monotonic())
                )
            except TimeoutError:
                break
            assert isinstance(msg, bytes) and msg
            if msg[0] == AUDIO:
                pcm.append(np.asarray(reader.append_bytes(msg[1:]), dtype=np.float32).reshape(-1))
            elif msg[0] == TEXT:
                text += msg[1:].decode()
            else:
                other.append(msg)
                if (
                    msg[0] == METADATA
                    and b'"response.done"' in msg
                    and (wait_text is None or wait_text in text.lower())
                ):
                    break
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return text, np.concatenate(pcm) if pcm else np.zeros(0, np.float32), other


async def test_moshi_protocol_spoken_turn(any_server) -> None:  # type: ignore[no-untyped-def]
    fake = any_server.ctx.model_name == "fake"
    speech = speechlike(0.6) if fake else synth("What is the capital of France?", sample_rate=24000)
    text, audio, other = await moshi_turn(
        any_server.ws_url + "/api/chat", speech, None if fake else "paris", timeout=90
    )
    assert text.strip(), "the agent's words arrive as kind-2 text"
    if not fake:
        assert "paris" in text.lower(), text
    assert len(audio) > 24000 * 0.4, "the agent's voice arrives as Ogg/Opus (kind 1)"
    assert float(np.sqrt(np.mean(audio**2))) > 0.01
    assert any(m[0] == METADATA and b"user.transcript" in m for m in other)


async def test_moshi_protocol_ping_errors_and_text_frames(fake_server) -> None:  # type: ignore[no-untyped-def]
    async with websockets.connect(fake_server.ws_url + "/api/chat") as ws:
        assert (await ws.recv())[0] == HANDSHAKE
        await ws.send(bytes([PING]) + b"abc")
        await ws.send(bytes([9]) + b"??")
        await ws.send(bytes([AUDIO]) + b"not an ogg stream at all")
        await ws.send(b"")
        got: list[bytes] = []
        async with asyncio.timeout(10):
            while sum(1 for m in got if m[0] == ERROR) < 2 or not any(m[0] == PING for m in got):
                got.append(await ws.recv())  # type: ignore[arg-type]
        assert bytes([PING]) + b"abc" in got
        errors = [m[1:].decode() for m in got if m[0] == ERROR]
        assert any("unknown message kind 9" in e for e in errors), errors
        await ws.send("a text frame")
        with contextlib.suppress(websockets.ConnectionClosed):
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        assert ws.close_code == 1003
